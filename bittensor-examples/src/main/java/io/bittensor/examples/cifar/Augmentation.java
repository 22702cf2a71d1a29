package io.bittensor.examples.cifar;

import java.util.SplittableRandom;

/**
 * The original's training augmentation: a random 32×32 crop of the image zero-padded by
 * {@code padding} pixels on every side, then a horizontal flip with probability ½ (torchvision's
 * RandomCrop(32, padding=4) and RandomHorizontalFlip()). Works on one channel-major byte image.
 */
public final class Augmentation {
    public static final Augmentation STANDARD = new Augmentation(4, true);

    private final int padding;
    private final boolean flip;

    public Augmentation(int padding, boolean flip) {
        if (padding < 0 || padding >= CifarImages.SIZE) {
            throw new IllegalArgumentException("padding must be in [0, 32), got " + padding);
        }
        this.padding = padding;
        this.flip = flip;
    }

    /** A new augmented copy of {@code image} (3×32×32 bytes). */
    public byte[] apply(byte[] image, SplittableRandom rng) {
        int dy = rng.nextInt(2 * padding + 1) - padding;
        int dx = rng.nextInt(2 * padding + 1) - padding;
        boolean mirror = flip && rng.nextBoolean();
        return shift(image, dy, dx, mirror);
    }

    /**
     * Output pixel (r, c) = input (r + dy, c + dx), zero outside the image; then mirrored left-right
     * when asked.
     */
    static byte[] shift(byte[] image, int dy, int dx, boolean mirror) {
        int n = CifarImages.SIZE;
        byte[] out = new byte[CifarImages.PIXELS];
        int c0 = Math.max(0, -dx);
        int c1 = Math.min(n, n - dx);
        for (int ch = 0; ch < CifarImages.CHANNELS; ch++) {
            int plane = ch * n * n;
            for (int r = 0; r < n; r++) {
                int sr = r + dy;
                if (sr < 0 || sr >= n || c1 <= c0) {
                    continue;
                }
                System.arraycopy(image, plane + sr * n + c0 + dx, out, plane + r * n + c0, c1 - c0);
                if (mirror) {
                    int row = plane + r * n;
                    for (int a = row, b = row + n - 1; a < b; a++, b--) {
                        byte t = out[a];
                        out[a] = out[b];
                        out[b] = t;
                    }
                }
            }
        }
        return out;
    }
}
