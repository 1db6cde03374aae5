#include "cv4l2.h"

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_BUFFERS 8

static int fail(char *error, size_t size, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(error, size, format, args);
    va_end(args);
    return -1;
}

/// ioctl retried on EINTR.
static int xioctl(int fd, unsigned long request, void *arg) {
    int r;
    do { r = ioctl(fd, request, arg); } while (r == -1 && errno == EINTR);
    return r;
}

int cv4l2_grab_mjpeg(const char *device, uint32_t width, uint32_t height, uint32_t buffers, uint32_t warmup,
                     int timeout_ms, uint8_t **jpeg, size_t *length, char *error, size_t error_size) {
    *jpeg = NULL;
    *length = 0;
    int result = -1;
    void *maps[MAX_BUFFERS] = {0};
    size_t map_lengths[MAX_BUFFERS] = {0};
    uint32_t mapped = 0;
    int streaming = 0;

    const int fd = open(device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return fail(error, error_size, "cannot open the video device: %s", strerror(errno));

    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
        fail(error, error_size, "not a V4L2 device (VIDIOC_QUERYCAP: %s)", strerror(errno));
        goto done;
    }
    const uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) { fail(error, error_size, "the device cannot capture video"); goto done; }
    if (!(caps & V4L2_CAP_STREAMING)) { fail(error, error_size, "the device does not support streaming I/O"); goto done; }

    struct v4l2_format format;
    memset(&format, 0, sizeof format);
    format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd, VIDIOC_G_FMT, &format) < 0) { fail(error, error_size, "VIDIOC_G_FMT: %s", strerror(errno)); goto done; }
    if (width > 0 && height > 0) {
        format.fmt.pix.width = width;
        format.fmt.pix.height = height;
    }
    format.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    format.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(fd, VIDIOC_S_FMT, &format) < 0) { fail(error, error_size, "VIDIOC_S_FMT (MJPEG): %s", strerror(errno)); goto done; }
    if (format.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG && format.fmt.pix.pixelformat != V4L2_PIX_FMT_JPEG) {
        const uint32_t f = format.fmt.pix.pixelformat;
        fail(error, error_size, "the device does not deliver MJPEG (it offers %c%c%c%c)",
             (char)(f & 0xff), (char)((f >> 8) & 0xff), (char)((f >> 16) & 0xff), (char)((f >> 24) & 0xff));
        goto done;
    }

    struct v4l2_requestbuffers request;
    memset(&request, 0, sizeof request);
    request.count = buffers < 2 ? 2 : (buffers > MAX_BUFFERS ? MAX_BUFFERS : buffers);
    request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    request.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd, VIDIOC_REQBUFS, &request) < 0) { fail(error, error_size, "VIDIOC_REQBUFS: %s", strerror(errno)); goto done; }
    if (request.count < 1) { fail(error, error_size, "VIDIOC_REQBUFS: the driver gave no buffers"); goto done; }
    if (request.count > MAX_BUFFERS) request.count = MAX_BUFFERS;

    for (uint32_t i = 0; i < request.count; i++) {
        struct v4l2_buffer buffer;
        memset(&buffer, 0, sizeof buffer);
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        buffer.memory = V4L2_MEMORY_MMAP;
        buffer.index = i;
        if (xioctl(fd, VIDIOC_QUERYBUF, &buffer) < 0) { fail(error, error_size, "VIDIOC_QUERYBUF: %s", strerror(errno)); goto done; }
        void *map = mmap(NULL, buffer.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, buffer.m.offset);
        if (map == MAP_FAILED) { fail(error, error_size, "mmap of buffer %u: %s", i, strerror(errno)); goto done; }
        maps[i] = map;
        map_lengths[i] = buffer.length;
        mapped = i + 1;
        if (xioctl(fd, VIDIOC_QBUF, &buffer) < 0) { fail(error, error_size, "VIDIOC_QBUF: %s", strerror(errno)); goto done; }
    }

    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd, VIDIOC_STREAMON, &type) < 0) { fail(error, error_size, "VIDIOC_STREAMON: %s", strerror(errno)); goto done; }
    streaming = 1;

    // Frames are dequeued until `warmup` good ones were skipped and one more is kept; damaged
    // or empty frames do not count, and at most 16 of them are tolerated.
    uint32_t good = 0, bad = 0;
    for (;;) {
        struct pollfd waiter = {.fd = fd, .events = POLLIN};
        int ready;
        do { ready = poll(&waiter, 1, timeout_ms); } while (ready < 0 && errno == EINTR);
        if (ready < 0) { fail(error, error_size, "poll: %s", strerror(errno)); goto done; }
        if (ready == 0) { fail(error, error_size, "no frame within %d ms", timeout_ms); goto done; }
        struct v4l2_buffer buffer;
        memset(&buffer, 0, sizeof buffer);
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        buffer.memory = V4L2_MEMORY_MMAP;
        if (xioctl(fd, VIDIOC_DQBUF, &buffer) < 0) {
            if (errno == EAGAIN) continue;
            fail(error, error_size, "VIDIOC_DQBUF: %s", strerror(errno));
            goto done;
        }
        if (buffer.index >= mapped || buffer.bytesused > map_lengths[buffer.index]) {
            fail(error, error_size, "VIDIOC_DQBUF returned an invalid buffer");
            goto done;
        }
        if ((buffer.flags & V4L2_BUF_FLAG_ERROR) || buffer.bytesused == 0) {
            if (++bad > 16) { fail(error, error_size, "the device delivered only damaged frames"); goto done; }
        } else if (good++ == warmup) {
            uint8_t *copy = malloc(buffer.bytesused);
            if (!copy) { fail(error, error_size, "out of memory for a %u-byte frame", buffer.bytesused); goto done; }
            memcpy(copy, maps[buffer.index], buffer.bytesused);
            *jpeg = copy;
            *length = buffer.bytesused;
            result = 0;
            goto done;
        }
        if (xioctl(fd, VIDIOC_QBUF, &buffer) < 0) { fail(error, error_size, "VIDIOC_QBUF: %s", strerror(errno)); goto done; }
    }

done:
    if (streaming) {
        enum v4l2_buf_type off = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(fd, VIDIOC_STREAMOFF, &off);
    }
    for (uint32_t i = 0; i < mapped; i++) munmap(maps[i], map_lengths[i]);
    close(fd);
    return result;
}
#else
int cv4l2_grab_mjpeg(const char *device, uint32_t width, uint32_t height, uint32_t buffers, uint32_t warmup,
                     int timeout_ms, uint8_t **jpeg, size_t *length, char *error, size_t error_size) {
    (void)device; (void)width; (void)height; (void)buffers; (void)warmup; (void)timeout_ms;
    *jpeg = NULL;
    *length = 0;
    snprintf(error, error_size, "V4L2 exists only on Linux");
    return -1;
}
#endif
