// JPEG and PNG decoding to 8-bit RGB and encoding from it, through libjpeg and libpng, for
// callers that cannot setjmp (Swift). Every function reports failure as a status code and a
// message in a caller-supplied buffer; none exits, prints or leaves memory behind. Pixel
// conversions follow Pillow's (Image.open followed by convert("RGB"), or the compositing
// onto white that transformers' convert_to_rgb applies to images with transparency).
// Not covered: EXIF orientation, ICC profiles, gamma, 12-bit JPEG, animated PNG frames.
#ifndef ARF_IMAGE_CODEC_H
#define ARF_IMAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by every function in this header.
enum {
    ARF_IMAGE_OK = 0,
    ARF_IMAGE_CORRUPT = 1,
    ARF_IMAGE_TRUNCATED = 2,
    ARF_IMAGE_TOO_LARGE = 3,
    ARF_IMAGE_UNSUPPORTED = 4,
    ARF_IMAGE_NO_MEMORY = 5,
};

/// What the PNG decoder does with an alpha channel or a tRNS chunk.
enum {
    /// Ignore it, as Pillow's convert("RGB") does.
    ARF_ALPHA_DROP = 0,
    /// Composite onto opaque white with Pillow's alpha_composite arithmetic.
    ARF_ALPHA_OVER_WHITE = 1,
};

/// Decodes a JPEG held in memory to interleaved RGB (width * height * 3 bytes, malloc'ed,
/// released with arf_free). Greyscale is replicated; CMYK and YCCK are converted as Pillow
/// does. On failure *rgb is NULL, *width and *height hold the header's size when it was
/// read, and `error` holds a message.
int arf_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t **rgb,
                    int *width, int *height, char *error, size_t error_size);

/// Decodes a PNG held in memory to interleaved RGB: every bit depth and colour type,
/// interlaced or not. 16-bit samples keep their high byte, except 16-bit greyscale, which
/// Pillow clips to 255. `alpha_mode` is one of ARF_ALPHA_*.
int arf_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, int alpha_mode,
                   uint8_t **rgb, int *width, int *height, char *error, size_t error_size);

/// Encodes interleaved RGB as an 8-bit, non-interlaced PNG (malloc'ed, see arf_free).
int arf_encode_png(const uint8_t *rgb, int width, int height, uint8_t **out, size_t *out_size,
                   char *error, size_t error_size);

/// Encodes interleaved RGB as a baseline JPEG with 4:2:0 chroma subsampling at `quality`
/// (1 to 100).
int arf_encode_jpeg(const uint8_t *rgb, int width, int height, int quality, uint8_t **out,
                    size_t *out_size, char *error, size_t error_size);

/// Releases memory returned by the functions above.
void arf_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
