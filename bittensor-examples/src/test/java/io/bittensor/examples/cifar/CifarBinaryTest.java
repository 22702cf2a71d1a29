package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarBinaryTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryRecordOfTheReleaseLayout() throws Exception {
        Path archive = dir.resolve("cifar-10-binary.tar.gz");
        CifarFixtures.writeTarGz(archive, CifarFixtures.binaryRelease(3));
        CifarData data = CifarDatasets.open(archive.toString(), dir);
        assertEquals(15, data.train().size());
        assertEquals(3, data.test().size());
        assertEquals(CifarImages.CLASS_NAMES, data.train().classes());
        // Train record k of file i has label (3i + k) % 10; test record k has label k.
        assertEquals(3, data.train().label(0));
        assertEquals(2, data.test().label(2));
        CifarSplit.Batch b = data.test().batch(2, 3);
        assertEquals(1f, b.labels().getFloat(0, 2));
        // Pixel i of a label-2 record is (20 + i) mod 256, channel-major.
        assertEquals(20 / 255f, b.images().getFloat(0, 0, 0, 0), 1e-6);
        assertEquals(((20 + 1024 + 33) & 0xFF) / 255f, b.images().getFloat(0, 1, 1, 1), 1e-6);
    }

    @Test
    void refusesDamagedArchivesWithOneLine() throws Exception {
        Path garbage = dir.resolve("garbage.tar.gz");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5});
        CifarDataException e = assertThrows(CifarDataException.class, () -> CifarDatasets.open(garbage.toString(), dir));
        assertTrue(e.getMessage().contains("not a readable .tar.gz"), e.getMessage());

        Map<String, byte[]> missing = CifarFixtures.binaryRelease(2);
        missing.remove("cifar-10-batches-bin/data_batch_4.bin");
        Path incomplete = dir.resolve("incomplete.tar.gz");
        CifarFixtures.writeTarGz(incomplete, missing);
        e = assertThrows(CifarDataException.class, () -> CifarBinary.load(incomplete));
        assertTrue(e.getMessage().contains("data_batch_4.bin"), e.getMessage());

        Map<String, byte[]> truncated = CifarFixtures.binaryRelease(2);
        truncated.put("cifar-10-batches-bin/test_batch.bin", new byte[CifarBinary.RECORD + 7]);
        Path shortFile = dir.resolve("short.tar.gz");
        CifarFixtures.writeTarGz(shortFile, truncated);
        e = assertThrows(CifarDataException.class, () -> CifarBinary.load(shortFile));
        assertTrue(e.getMessage().contains("whole number"), e.getMessage());

        Map<String, byte[]> badLabel = CifarFixtures.binaryRelease(2);
        byte[] t = CifarFixtures.records(0, 2);
        t[CifarBinary.RECORD] = 42;
        badLabel.put("cifar-10-batches-bin/test_batch.bin", t);
        Path labelled = dir.resolve("label.tar.gz");
        CifarFixtures.writeTarGz(labelled, badLabel);
        e = assertThrows(CifarDataException.class, () -> CifarBinary.load(labelled));
        assertTrue(e.getMessage().contains("label 42"), e.getMessage());
    }

    @Test
    void missingDatasetIsOneLine() {
        CifarDataException e = assertThrows(CifarDataException.class,
                () -> CifarDatasets.open(dir.resolve("nope.tar.gz").toString(), dir));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }
}
