package msnbridge

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // avatars come as GIF too
	_ "image/jpeg"
	"image/png"
)

// PictureSize is the side of the square display pictures MSN clients show
// (Messenger 6 to Windows Live Messenger scale anything else to it).
const PictureSize = 96

// maxAvatarPixels bounds the pictures DisplayPicture decodes, so that a
// hostile avatar cannot make the bridge allocate gigabytes.
const maxAvatarPixels = 4096 * 4096

// ErrNotPicture says an avatar is no picture the bridge can read (PNG,
// JPEG or GIF).
var ErrNotPicture = errors.New("msnbridge: not a PNG, JPEG or GIF picture")

// DisplayPicture turns an avatar from another network (PNG, JPEG or GIF,
// any size) into what MSN clients expect of a display picture: a PNG of
// PictureSize×PictureSize, the middle square of the avatar scaled down
// (or up) to fit.
func DisplayPicture(avatar []byte) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(avatar))
	if err != nil {
		return nil, ErrNotPicture
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxAvatarPixels {
		return nil, fmt.Errorf("msnbridge: a picture of %d×%d is too large", cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(avatar))
	if err != nil {
		return nil, ErrNotPicture
	}
	var out bytes.Buffer
	if err := png.Encode(&out, scaleSquare(src, PictureSize)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// scaleSquare takes the largest centred square of src and resamples it to
// side×side: each output pixel is the average of the source pixels it
// covers (an area filter, which keeps a downscaled face smooth), or the
// nearest one when scaling up.
func scaleSquare(src image.Image, side int) *image.NRGBA {
	b := src.Bounds()
	n := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-n)/2, b.Min.Y+(b.Dy()-n)/2
	dst := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		sy0, sy1 := y0+y*n/side, y0+(y+1)*n/side
		if sy1 <= sy0 {
			sy1 = sy0 + 1
		}
		for x := range side {
			sx0, sx1 := x0+x*n/side, x0+(x+1)*n/side
			if sx1 <= sx0 {
				sx1 = sx0 + 1
			}
			var r, g, bl, a, count uint64
			for sy := sy0; sy < sy1; sy++ {
				for sx := sx0; sx < sx1; sx++ {
					// Premultiplied sums, so transparent pixels do not
					// darken the edges.
					cr, cg, cb, ca := src.At(sx, sy).RGBA()
					r, g, bl, a = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca)
					count++
				}
			}
			c := color.NRGBA{}
			if a > 0 {
				c = color.NRGBA{
					R: uint8(r * 0xffff / a >> 8), G: uint8(g * 0xffff / a >> 8), B: uint8(bl * 0xffff / a >> 8),
					A: uint8(a / count >> 8),
				}
			}
			dst.SetNRGBA(x, y, c)
		}
	}
	return dst
}
