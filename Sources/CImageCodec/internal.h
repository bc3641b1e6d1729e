// Helpers shared by the JPEG and PNG halves of the codec: error messages into the caller's
// buffer, and Pillow's integer arithmetic for the few pixel conversions it does itself.
#ifndef ARF_IMAGE_CODEC_INTERNAL_H
#define ARF_IMAGE_CODEC_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline void arf_set_error(char *error, size_t error_size, const char *format, ...) {
    if (error == NULL || error_size == 0) {
        return;
    }
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
}

/// Whether width * height exceeds the caller's limit; also rejects empty images.
static inline int arf_too_large(uint64_t width, uint64_t height, uint64_t max_pixels) {
    return width == 0 || height == 0 || width * height > max_pixels;
}

/// Pillow's alpha_composite of (value, alpha) over opaque white, one channel. With an opaque
/// white destination its fixed-point formula (7 fraction bits, rounded division by 255)
/// reduces to this.
static inline uint8_t arf_over_white(uint32_t value, uint32_t alpha) {
    if (alpha == 0) {
        return 255;
    }
    uint32_t sum = value * alpha * 128 + 255 * (255 - alpha) * 128 + (0x80 << 7);
    return (uint8_t)((((sum >> 8) + sum) >> 8) >> 7);
}

/// Pillow's (a * b) / 255 with rounding.
static inline uint32_t arf_muldiv255(uint32_t a, uint32_t b) {
    uint32_t product = a * b + 128;
    return ((product >> 8) + product) >> 8;
}

#endif
