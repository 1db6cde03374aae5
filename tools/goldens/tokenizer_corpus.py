"""Deterministic multilingual text for training the test vocabularies and for the golden
strings (imported by tokenizer_goldens.py). Everything here is written or generated locally."""
import random

ENGLISH = """the of and to in is you that it he was for on are as with his they at be this have from or
one had by word but not what all were we when your can said there use an each which she do how their
if will up other about out many then them these so some her would make like him into time has look two
more write go see number no way could people my than first water been call who oil its now find long
down day did get come made may part image model token vision language device queue camera fleet agent
river mountain window kitchen garden library science history music picture language running jumped
quickly beautiful important different following without between another through because however
tokenizer tokenization pre-tokenizer merge merges vocabulary byte bytes unicode character characters
don't can't won't it's we're they've I'm you'll she'd He's THE Hello World Apple Microsoft OpenAI""".split()
CHINESE = """我们 你好 世界 中国 北京 上海 模型 图像 视觉 语言 人工智能 机器学习 深度学习 数据 计算 手机 设备
今天 天气 很好 非常 谢谢 朋友 学习 工作 时间 问题 回答 一个 这个 那个 什么 为什么 因为 所以 但是
可以 需要 没有 已经 正在 我的 他的 她们 电脑 程序 代码 文本 分词 测试 结果 速度 内存 文件 网络""".split()
JAPANESE = """こんにちは ありがとう 日本 東京 言語 モデル 画像 テスト です ます した する ない ある いる
これ それ あれ 私 あなた 今日 明日 天気 とても 学生 先生 勉強 コンピュータ プログラム カタカナ ひらがな
漢字 猫 犬 食べる 飲む 見る 行く 来る""".split()
ARABIC = """مرحبا العالم اللغة العربية نموذج صورة الذكاء الاصطناعي كتاب مدرسة طالب معلم بيت سيارة
شكرا جزيلا اليوم غدا جميل كبير صغير الحاسوب برنامج بيانات""".split()
HINDI = """नमस्ते दुनिया भाषा हिन्दी मॉडल चित्र कृत्रिम बुद्धि किताब विद्यालय छात्र शिक्षक घर गाड़ी
धन्यवाद आज कल सुंदर बड़ा छोटा कंप्यूटर कार्यक्रम""".split()
RUSSIAN = """привет мир язык русский модель изображение искусственный интеллект книга школа студент
учитель дом машина спасибо сегодня завтра красивый большой маленький компьютер программа данные""".split()
EMOJI = ["😀", "😂", "👍", "👍🏽", "❤️", "🎉", "🚀", "🌍", "👩‍👩‍👧", "🏳️‍🌈", "🤖", "✨", "🔥", "🇯🇵", "🇺🇸"]
CODE = [
    "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
    "let x = try BPETokenizer(tokens: tokens, merges: merges)\n",
    "if (x != NULL && y->next) { return -1; }\n",
    "SELECT id, name FROM jobs WHERE state = 'queued' ORDER BY created_at;\n",
    "{\"model\": \"minicpm-v\", \"max_tokens\": 128, \"temperature\": 0.7}\n",
    "    # comment: indentation with spaces\n        nested = {'a': [1, 2, 3]}\n",
    "<div class=\"image\"><img src=\"cat.png\" alt=\"a cat\"/></div>\n",
]


def sentences(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        kind = rng.randrange(9)
        if kind == 0:
            words = rng.choices(ENGLISH, k=rng.randint(4, 14))
            out.append(" ".join(words).capitalize() + rng.choice([".", "!", "?", ",", ";"]))
        elif kind == 1:
            out.append("".join(rng.choices(CHINESE, k=rng.randint(3, 10))) + rng.choice(["。", "，", "！", "？"]))
        elif kind == 2:
            out.append("".join(rng.choices(JAPANESE, k=rng.randint(3, 8))) + "。")
        elif kind == 3:
            out.append(" ".join(rng.choices(ARABIC, k=rng.randint(3, 9))) + rng.choice([".", "،", "؟"]))
        elif kind == 4:
            out.append(" ".join(rng.choices(HINDI, k=rng.randint(3, 9))) + "।")
        elif kind == 5:
            out.append(" ".join(rng.choices(RUSSIAN, k=rng.randint(3, 10))).capitalize() + ".")
        elif kind == 6:
            out.append(rng.choice(CODE))
        elif kind == 7:
            n = rng.choice([rng.randint(0, 9999), rng.randint(0, 10**9), rng.random() * 1000])
            out.append(f"{rng.choice(ENGLISH)} {n} {rng.choice(EMOJI)} {rng.choice(['$', '€', '%', '#'])}{rng.randint(1, 999)}")
        else:
            out.append(" " * rng.randint(1, 6) + rng.choice(ENGLISH) + "\n" * rng.randint(1, 3) + "\t" + rng.choice(CHINESE))
    return out


def training_corpus(seed: int = 1234, lines: int = 60000) -> list[str]:
    rng = random.Random(seed)
    return sentences(rng, lines)
