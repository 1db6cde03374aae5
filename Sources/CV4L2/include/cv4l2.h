#pragma once
// CV4L2: grabs one MJPEG frame from a Video4Linux2 capture device with memory-mapped
// streaming I/O, using the kernel's own <linux/videodev2.h> so every struct layout and ioctl
// number is the kernel ABI (no hand-copied layouts). The agent calls it on a blocking thread.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Opens `device`, asks for MJPEG at width x height (the driver may choose another size; 0 keeps
/// the current one), streams with `buffers` mmap buffers, skips `warmup` frames (auto exposure),
/// and returns the next frame as a malloc'd copy in *jpeg / *length (free it with free()).
/// Waits at most `timeout_ms` per frame. Returns 0, or -1 with a message in `error`
/// (naming the step: open, VIDIOC_S_FMT, REQBUFS, mmap, STREAMON, poll timeout, DQBUF...).
int cv4l2_grab_mjpeg(const char *device, uint32_t width, uint32_t height, uint32_t buffers, uint32_t warmup,
                     int timeout_ms, uint8_t **jpeg, size_t *length, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif
