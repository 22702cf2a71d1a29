package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AugmentationTest {
    private static byte[] ramp() {
        byte[] img = new byte[CifarImages.PIXELS];
        for (int ch = 0; ch < 3; ch++) {
            for (int r = 0; r < 32; r++) {
                for (int c = 0; c < 32; c++) {
                    img[ch * 1024 + r * 32 + c] = (byte) (1 + ch * 64 + c + (r % 2));
                }
            }
        }
        return img;
    }

    private static int at(byte[] img, int ch, int r, int c) {
        return img[ch * 1024 + r * 32 + c] & 0xFF;
    }

    @Test
    void shiftMovesPixelsAndPadsWithZeros() {
        byte[] img = ramp();
        byte[] s = Augmentation.shift(img, 2, -3, false);
        assertEquals(at(img, 1, 7, 2), at(s, 1, 5, 5));
        assertEquals(0, at(s, 0, 30, 10), "rows shifted in from below the image are zero");
        assertEquals(0, at(s, 2, 10, 1), "columns shifted in from the left are zero");
        assertArrayEquals(img, Augmentation.shift(img, 0, 0, false));
    }

    @Test
    void flipMirrorsEachRow() {
        byte[] img = ramp();
        byte[] f = Augmentation.shift(img, 0, 0, true);
        for (int c = 0; c < 32; c++) {
            assertEquals(at(img, 2, 3, c), at(f, 2, 3, 31 - c));
        }
    }

    @Test
    void randomCropsStayWithinThePaddingAndFlipAboutHalfTheTime() {
        byte[] img = ramp();
        SplittableRandom rng = new SplittableRandom(3);
        int flipped = 0;
        for (int i = 0; i < 400; i++) {
            byte[] a = Augmentation.STANDARD.apply(img, rng);
            // The centre pixel comes from within 4 columns (and one row parity) of the centre.
            int v = at(a, 0, 16, 16);
            assertTrue(v >= 1 + 11 && v <= 1 + 21, "value " + v);
            if (at(a, 0, 16, 10) > at(a, 0, 16, 20)) {
                flipped++;
            }
        }
        assertTrue(flipped > 150 && flipped < 250, "flipped " + flipped);
    }
}
