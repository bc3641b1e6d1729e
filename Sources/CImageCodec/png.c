// PNG through libpng, from and to memory. libpng longjmps out of its error callback; the
// jump lands in the entry point, which frees what it allocated and returns a status.
// Warnings are dropped. Sample conversions reproduce Pillow's PNG plugin rather than the PNG
// specification where the two differ: 16-bit greyscale is clipped to 255 instead of scaled,
// and a tRNS colour key is compared with the samples as Pillow stores them (so a key on
// 2- and 4-bit greyscale or on 16-bit RGB almost never matches). gAMA, sBIT and colour
// profiles are ignored, as Pillow ignores them.
#include <setjmp.h>
#include <stdlib.h>

#include <png.h>

#include "CImageCodec.h"
#include "internal.h"

struct arf_png_state {
    // Input, when decoding.
    const uint8_t *data;
    size_t size;
    size_t offset;
    // Output, when encoding.
    uint8_t *out;
    size_t out_size;
    size_t out_capacity;

    char *error;
    size_t error_size;
    int status;
    // Owned buffers live here, not in locals, so that they survive the longjmp intact.
    uint8_t *native;
    png_bytep *rows;
    uint8_t *pixels;
};

static void arf_png_error(png_structp png, png_const_charp message) {
    struct arf_png_state *state = png_get_error_ptr(png);
    if (state->status == ARF_IMAGE_OK) {
        state->status = ARF_IMAGE_CORRUPT;
    }
    arf_set_error(state->error, state->error_size, "%s", message);
    png_longjmp(png, 1);
}

static void arf_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void arf_png_fail(png_structp png, int status, const char *message) {
    struct arf_png_state *state = png_get_error_ptr(png);
    state->status = status;
    png_error(png, message);
}

static void arf_png_read(png_structp png, png_bytep out, size_t count) {
    struct arf_png_state *state = png_get_io_ptr(png);
    if (count > state->size - state->offset) {
        arf_png_fail(png, ARF_IMAGE_TRUNCATED, "the file ends in the middle of a chunk");
    }
    memcpy(out, state->data + state->offset, count);
    state->offset += count;
}

/// A tRNS colour key, in the units of the samples it is compared with.
struct arf_png_key {
    int active;
    uint32_t value[3];
};

static struct arf_png_key arf_png_read_key(png_structp png, png_infop info, int color,
                                           int depth) {
    struct arf_png_key key = {0, {0, 0, 0}};
    png_color_16p color_key = NULL;
    if (color == PNG_COLOR_TYPE_PALETTE || !png_get_valid(png, info, PNG_INFO_tRNS) ||
        png_get_tRNS(png, info, NULL, NULL, &color_key) == 0 || color_key == NULL) {
        return key;
    }
    key.active = 1;
    if (color == PNG_COLOR_TYPE_GRAY) {
        // Pillow maps a 1-bit key onto 0/255 like the samples, but compares 2- and 4-bit
        // keys unscaled with scaled samples.
        key.value[0] = depth == 1 ? (color_key->gray ? 255 : 0) : color_key->gray;
    } else {
        key.value[0] = color_key->red;
        key.value[1] = color_key->green;
        key.value[2] = color_key->blue;
    }
    return key;
}

/// Converts one row in libpng's output layout to RGB.
static void arf_png_row_to_rgb(const uint8_t *in, uint8_t *out, int width, int channels,
                               int grey16, struct arf_png_key key, int alpha_mode) {
    for (int x = 0; x < width; x++, out += 3) {
        uint32_t r, g, b, a = 255;
        int keyed = 0;
        switch (channels) {
        case 1:
            if (grey16) {
                uint32_t sample = (uint32_t)in[0] << 8 | in[1];
                r = g = b = sample > 255 ? 255 : sample;
                keyed = sample == key.value[0];
                in += 2;
            } else {
                r = g = b = in[0];
                keyed = in[0] == key.value[0];
                in += 1;
            }
            break;
        case 2:
            r = g = b = in[0];
            a = in[1];
            in += 2;
            break;
        case 3:
            r = in[0];
            g = in[1];
            b = in[2];
            keyed = r == key.value[0] && g == key.value[1] && b == key.value[2];
            in += 3;
            break;
        default:
            r = in[0];
            g = in[1];
            b = in[2];
            a = in[3];
            in += 4;
            break;
        }
        if (alpha_mode == ARF_ALPHA_OVER_WHITE) {
            if (key.active && keyed) {
                a = 0;
            }
            out[0] = arf_over_white(r, a);
            out[1] = arf_over_white(g, a);
            out[2] = arf_over_white(b, a);
        } else {
            out[0] = (uint8_t)r;
            out[1] = (uint8_t)g;
            out[2] = (uint8_t)b;
        }
    }
}

int arf_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, int alpha_mode,
                   uint8_t **rgb, int *width, int *height, char *error, size_t error_size) {
    struct arf_png_state state;
    memset(&state, 0, sizeof(state));
    state.data = data;
    state.size = size;
    state.error = error;
    state.error_size = error_size;
    *rgb = NULL;
    *width = 0;
    *height = 0;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        arf_set_error(error, error_size, "no PNG signature");
        return size < 8 ? ARF_IMAGE_TRUNCATED : ARF_IMAGE_CORRUPT;
    }
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, arf_png_error, arf_png_warning);
    png_infop info = png == NULL ? NULL : png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        arf_set_error(error, error_size, "out of memory for the PNG reader");
        return ARF_IMAGE_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(state.native);
        free(state.rows);
        free(state.pixels);
        return state.status;
    }
    png_set_read_fn(png, &state, arf_png_read);
    // Our own pixel limit applies instead of libpng's per-side one.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    *width = (int)w;
    *height = (int)h;
    if (arf_too_large(w, h, max_pixels)) {
        arf_set_error(error, error_size, "%u x %u pixels exceeds the limit of %llu", w, h,
                      (unsigned long long)max_pixels);
        state.status = ARF_IMAGE_TOO_LARGE;
        png_longjmp(png, 1);
    }

    // Expand everything to 8 bits per sample except 16-bit grey, which Pillow clips.
    struct arf_png_key key = arf_png_read_key(png, info, color, depth);
    int grey16 = color == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
        if (png_get_valid(png, info, PNG_INFO_tRNS)) {
            png_set_tRNS_to_alpha(png);
        }
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (depth == 16 && !grey16) {
        png_set_strip_16(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || row_bytes < (size_t)w * channels * (grey16 ? 2 : 1)) {
        arf_png_fail(png, ARF_IMAGE_UNSUPPORTED, "unexpected sample layout");
    }
    state.native = malloc(row_bytes * h);
    state.rows = malloc(sizeof(png_bytep) * h);
    state.pixels = malloc((size_t)w * h * 3);
    if (state.native == NULL || state.rows == NULL || state.pixels == NULL) {
        arf_png_fail(png, ARF_IMAGE_NO_MEMORY, "out of memory for the pixels");
    }
    for (png_uint_32 y = 0; y < h; y++) {
        state.rows[y] = state.native + row_bytes * y;
    }
    png_read_image(png, state.rows);
    for (png_uint_32 y = 0; y < h; y++) {
        arf_png_row_to_rgb(state.rows[y], state.pixels + (size_t)w * 3 * y, (int)w, channels,
                           grey16, key, alpha_mode);
    }

    // Chunks after the image data are not read: Pillow does not need them either.
    png_destroy_read_struct(&png, &info, NULL);
    free(state.native);
    free(state.rows);
    *rgb = state.pixels;
    return ARF_IMAGE_OK;
}

static void arf_png_write(png_structp png, png_bytep bytes, size_t count) {
    struct arf_png_state *state = png_get_io_ptr(png);
    if (count > state->out_capacity - state->out_size) {
        size_t capacity = state->out_capacity * 2 + count + 4096;
        uint8_t *grown = realloc(state->out, capacity);
        if (grown == NULL) {
            arf_png_fail(png, ARF_IMAGE_NO_MEMORY, "out of memory for the encoded PNG");
        }
        state->out = grown;
        state->out_capacity = capacity;
    }
    memcpy(state->out + state->out_size, bytes, count);
    state->out_size += count;
}

static void arf_png_flush(png_structp png) { (void)png; }

int arf_encode_png(const uint8_t *rgb, int width, int height, uint8_t **out, size_t *out_size,
                   char *error, size_t error_size) {
    struct arf_png_state state;
    memset(&state, 0, sizeof(state));
    state.error = error;
    state.error_size = error_size;
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0) {
        arf_set_error(error, error_size, "PNG cannot hold %d x %d pixels", width, height);
        return ARF_IMAGE_UNSUPPORTED;
    }
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, arf_png_error, arf_png_warning);
    png_infop info = png == NULL ? NULL : png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        arf_set_error(error, error_size, "out of memory for the PNG writer");
        return ARF_IMAGE_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(state.out);
        return state.status == ARF_IMAGE_CORRUPT ? ARF_IMAGE_UNSUPPORTED : state.status;
    }
    png_set_write_fn(png, &state, arf_png_write, arf_png_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) {
        png_write_row(png, rgb + (size_t)y * (size_t)width * 3);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = state.out;
    *out_size = state.out_size;
    return ARF_IMAGE_OK;
}

void arf_free(void *pointer) { free(pointer); }
