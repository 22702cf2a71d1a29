package io.bittensor.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CheckpointsTest {
    @TempDir
    Path dir;

    private static Map<String, INDArray> arrays() {
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("w", Nd4j.arange(24).castTo(DataType.FLOAT).subi(11.5f).reshape(2, 3, 4));
        m.put("w_f_order", Nd4j.arange(6).castTo(DataType.DOUBLE).reshape('f', 2, 3));
        m.put("steps", Nd4j.createFromArray(7, 8, 9));
        m.put("big", Nd4j.createFromArray(Long.MAX_VALUE, -1L));
        return m;
    }

    @Test
    void roundTripsArraysAndMetadata() throws IOException {
        Path file = dir.resolve("sub/model.ckpt");
        Checkpoints.save(file, arrays(), Map.of("epoch", "3", "note", "ünïcode"));
        Checkpoints.Checkpoint c = Checkpoints.load(file);
        assertEquals(Map.of("epoch", "3", "note", "ünïcode"), c.metadata());
        assertEquals(arrays().keySet().stream().toList(), c.arrays().keySet().stream().toList());
        arrays().forEach((k, v) -> {
            assertEquals(v.dataType(), c.arrays().get(k).dataType(), k);
            assertArrayEquals(v.shape(), c.arrays().get(k).shape(), k);
            assertEquals(v, c.arrays().get(k), k);
        });
        try (var files = Files.list(file.getParent())) {
            assertEquals(1, files.count(), "no temporary file may be left behind");
        }
    }

    @Test
    void saveReplacesAnOlderCheckpoint() throws IOException {
        Path file = dir.resolve("m.ckpt");
        Checkpoints.save(file, Map.of("w", Nd4j.zeros(DataType.FLOAT, 2)), Map.of("epoch", "1"));
        Checkpoints.save(file, Map.of("w", Nd4j.ones(DataType.FLOAT, 2)), Map.of("epoch", "2"));
        assertEquals("2", Checkpoints.load(file).metadata().get("epoch"));
        assertEquals(Nd4j.ones(DataType.FLOAT, 2), Checkpoints.load(file).arrays().get("w"));
    }

    @Test
    void anyFlippedByteIsReportedAsCorrupt() throws IOException {
        Path file = dir.resolve("m.ckpt");
        Checkpoints.save(file, arrays(), Map.of());
        byte[] good = Files.readAllBytes(file);
        for (int pos : new int[] {10, good.length / 2, good.length - 40, good.length - 1}) {
            byte[] bad = good.clone();
            bad[pos] ^= 0x5a;
            Files.write(file, bad);
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.load(file));
            assertTrue(e.getMessage().contains("corrupt") && e.getMessage().contains(file.toString()), e.getMessage());
        }
    }

    @Test
    void truncatedForeignAndMissingFilesAreClearErrors() throws IOException {
        Path file = dir.resolve("m.ckpt");
        Checkpoints.save(file, arrays(), Map.of());
        byte[] good = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(good, good.length - 100));
        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoints.load(file)).getMessage().contains("corrupt"));

        Path foreign = Files.writeString(dir.resolve("model.torch"), "PK\u0003\u0004 a torch zip, say, long enough to pass");
        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoints.load(foreign)).getMessage()
                .contains("not a bittensor checkpoint"));

        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoints.load(dir.resolve("none.ckpt"))).getMessage()
                .contains("does not exist"));
    }

    @Test
    void restoresASameDiffGraphByNameAndRefusesAnotherModel() throws IOException {
        SameDiff a = SameDiff.create();
        a.var("w", Nd4j.rand(DataType.FLOAT, 3, 2));
        a.var("b", Nd4j.rand(DataType.FLOAT, 2));
        Path file = dir.resolve("sd.ckpt");
        Checkpoints.save(file, a, Map.of("kind", "test"));

        SameDiff b = SameDiff.create();
        b.var("w", Nd4j.zeros(DataType.FLOAT, 3, 2));
        b.var("b", Nd4j.zeros(DataType.FLOAT, 2));
        Checkpoints.restore(Checkpoints.load(file), b);
        assertEquals(a.getArrForVarName("w"), b.getArrForVarName("w"));
        assertEquals(a.getArrForVarName("b"), b.getArrForVarName("b"));

        SameDiff other = SameDiff.create();
        other.var("w", Nd4j.zeros(DataType.FLOAT, 2, 3));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.restore(Checkpoints.load(file), other));
        assertTrue(e.getMessage().contains("shape"), e.getMessage());
        assertEquals(Nd4j.zeros(DataType.FLOAT, 2, 3), other.getArrForVarName("w"), "a refused restore changes nothing");
    }
}
