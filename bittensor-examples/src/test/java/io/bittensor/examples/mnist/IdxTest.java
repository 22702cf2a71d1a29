package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class IdxTest {
    @Test
    void parsesDimensionsAndElements() {
        byte[] file = IdxFixtures.idx(new int[] {3, 2, 4}, i -> 250 + i % 6);
        Idx.Array a = Idx.parse(file, "x");
        assertArrayEquals(new int[] {3, 2, 4}, a.dims());
        assertEquals(24, a.count());
        assertEquals(250, a.get(0));
        assertEquals(255, a.get(5), "bytes are unsigned");
        assertEquals(16, a.offset());
    }

    @Test
    void rejectsBadMagicNumbers() {
        byte[] good = IdxFixtures.idx(new int[] {2}, i -> i);
        byte[] notZero = good.clone();
        notZero[0] = 0x1f; // e.g. a gzip'd file that was not unpacked
        assertMessage(notZero, "magic");
        byte[] floats = good.clone();
        floats[2] = 0x0d;
        assertMessage(floats, "type 0x0d");
        byte[] rank0 = good.clone();
        rank0[3] = 0;
        assertMessage(rank0, "rank 0");
    }

    @Test
    void rejectsLengthsThatDisagreeWithTheHeader() {
        byte[] good = IdxFixtures.idx(new int[] {4, 3}, i -> i);
        assertMessage(Arrays.copyOf(good, good.length - 1), "need 24 bytes but the file has 23");
        assertMessage(IdxFixtures.concat(good, new byte[] {1}), "need 24 bytes but the file has 25");
        assertMessage(Arrays.copyOf(good, 6), "truncated IDX header");
        assertMessage(new byte[] {0, 0}, "too short");
        byte[] huge = IdxFixtures.idx(new int[] {1, 1}, i -> i);
        huge[4] = 0x7f; // first dimension 2^31-ish: must not allocate, just fail
        assertMessage(huge, "the file has");
    }

    private static void assertMessage(byte[] bytes, String part) {
        Idx.IdxFormatException e = assertThrows(Idx.IdxFormatException.class, () -> Idx.parse(bytes, "f.idx"));
        assertTrue(e.getMessage().startsWith("f.idx: ") && e.getMessage().contains(part), e.getMessage());
    }
}
