// JPEG through libjpeg(-turbo), from and to memory. libjpeg reports fatal errors by calling
// error_exit, which must not return: ours longjmps back to the entry point, which frees what
// it allocated and returns a status. Warnings (corrupt entropy data, for instance) are
// counted silently and decoding goes on, as in Pillow, except "premature end of file": Pillow
// reports such a file as truncated, and so do we.
// Decoding uses libjpeg's defaults (islow IDCT, fancy upsampling), as Pillow does.
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jerror.h>
#include <jpeglib.h>

#include "CImageCodec.h"
#include "internal.h"

struct arf_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *error;
    size_t error_size;
    int status;
    // Owned buffers live here, not in locals, so that they survive the longjmp intact.
    uint8_t *pixels;
    uint8_t *row;
};

static void arf_jpeg_fail(j_common_ptr cinfo, int status) {
    struct arf_jpeg_error *state = (struct arf_jpeg_error *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, message);
    arf_set_error(state->error, state->error_size, "%s", message);
    state->status = status;
    longjmp(state->jump, 1);
}

static void arf_jpeg_error_exit(j_common_ptr cinfo) {
    int code = cinfo->err->msg_code;
    int status = code == JERR_OUT_OF_MEMORY ? ARF_IMAGE_NO_MEMORY : ARF_IMAGE_CORRUPT;
    if (code == JERR_INPUT_EOF || code == JERR_INPUT_EMPTY) {
        status = ARF_IMAGE_TRUNCATED;
    }
    arf_jpeg_fail(cinfo, status);
}

static void arf_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) {
        return;  // trace messages
    }
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        arf_jpeg_fail(cinfo, ARF_IMAGE_TRUNCATED);
    }
    cinfo->err->num_warnings++;
}

static void arf_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void arf_jpeg_install(struct arf_jpeg_error *state, char *error, size_t error_size) {
    memset(state, 0, sizeof(*state));
    jpeg_std_error(&state->pub);
    state->pub.error_exit = arf_jpeg_error_exit;
    state->pub.emit_message = arf_jpeg_emit_message;
    state->pub.output_message = arf_jpeg_output_message;
    state->error = error;
    state->error_size = error_size;
}

/// Pillow reads every CMYK JPEG as inverted (Adobe's convention) and then converts with
/// its integer CMYK-to-RGB formula; for libjpeg's raw samples the two steps combine to this.
static void arf_cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, int width) {
    for (int x = 0; x < width; x++, in += 4, out += 3) {
        uint32_t k = in[3];
        for (int c = 0; c < 3; c++) {
            out[c] = (uint8_t)(k - arf_muldiv255(255 - in[c], k));
        }
    }
}

int arf_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t **rgb,
                    int *width, int *height, char *error, size_t error_size) {
    struct jpeg_decompress_struct cinfo;
    struct arf_jpeg_error state;
    arf_jpeg_install(&state, error, error_size);
    memset(&cinfo, 0, sizeof(cinfo));
    *rgb = NULL;
    *width = 0;
    *height = 0;
    cinfo.err = &state.pub;
    if (setjmp(state.jump)) {
        free(state.pixels);
        free(state.row);
        jpeg_destroy_decompress(&cinfo);
        return state.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    if (arf_too_large(cinfo.image_width, cinfo.image_height, max_pixels)) {
        arf_set_error(error, error_size, "%u x %u pixels exceeds the limit of %llu",
                      cinfo.image_width, cinfo.image_height, (unsigned long long)max_pixels);
        state.status = ARF_IMAGE_TOO_LARGE;
        longjmp(state.jump, 1);
    }
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
        arf_set_error(error, error_size, "%d colour components (1, 3 or 4 are read)",
                      cinfo.num_components);
        state.status = ARF_IMAGE_UNSUPPORTED;
        longjmp(state.jump, 1);
    }
    jpeg_start_decompress(&cinfo);

    size_t stride = (size_t)cinfo.output_width * 3;
    state.pixels = malloc(stride * cinfo.output_height);
    state.row = malloc((size_t)cinfo.output_width * (size_t)cinfo.output_components);
    if (state.pixels == NULL || state.row == NULL) {
        arf_set_error(error, error_size, "out of memory for %u x %u pixels",
                      cinfo.output_width, cinfo.output_height);
        state.status = ARF_IMAGE_NO_MEMORY;
        longjmp(state.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *out = state.pixels + stride * cinfo.output_scanline;
        JSAMPROW row = cinfo.output_components == 3 ? out : state.row;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (cinfo.output_components == 1) {
            for (JDIMENSION x = 0; x < cinfo.output_width; x++) {
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = state.row[x];
            }
        } else if (cinfo.output_components == 4) {
            arf_cmyk_row_to_rgb(state.row, out, (int)cinfo.output_width);
        }
    }

    // Every row is decoded; whatever follows the image data does not matter here.
    *width = (int)cinfo.output_width;
    *height = (int)cinfo.output_height;
    *rgb = state.pixels;
    free(state.row);
    jpeg_destroy_decompress(&cinfo);
    return ARF_IMAGE_OK;
}

int arf_encode_jpeg(const uint8_t *rgb, int width, int height, int quality, uint8_t **out,
                    size_t *out_size, char *error, size_t error_size) {
    struct jpeg_compress_struct cinfo;
    struct arf_jpeg_error state;
    arf_jpeg_install(&state, error, error_size);
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        arf_set_error(error, error_size, "JPEG cannot hold %d x %d pixels", width, height);
        return ARF_IMAGE_UNSUPPORTED;
    }
    if (quality < 1 || quality > 100) {
        arf_set_error(error, error_size, "quality %d is outside 1...100", quality);
        return ARF_IMAGE_UNSUPPORTED;
    }

    // libjpeg grows this buffer with malloc; it is ours to free, also after an error.
    unsigned long size = 0;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = &state.pub;
    if (setjmp(state.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(state.pixels);
        return state.status;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &state.pixels, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = state.pixels;
    *out_size = (size_t)size;
    return ARF_IMAGE_OK;
}
