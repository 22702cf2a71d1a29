package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @TempDir
    Path dir;

    private static Map<String, byte[]> tree(String prefix) throws Exception {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(prefix + "README.txt", "not an image".getBytes());
        m.put(prefix + "train/zebra/0.png", CifarFixtures.png(32, 0x102030));
        m.put(prefix + "train/ant/0.png", CifarFixtures.png(32, 0xFF0000));
        m.put(prefix + "train/ant/1.png", CifarFixtures.png(32, 0x00FF00));
        m.put(prefix + "test/ant/0.png", CifarFixtures.png(32, 0x0000FF));
        m.put(prefix + "test/zebra/0.png", CifarFixtures.png(32, 0x000000));
        return m;
    }

    private void writeFolder(Path root, Map<String, byte[]> files) throws Exception {
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Path p = root.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
    }

    @Test
    void readsFolderAndTarGzAlike() throws Exception {
        Path folder = dir.resolve("imgs");
        writeFolder(folder, tree(""));
        Path tar = dir.resolve("imgs.tar.gz");
        CifarFixtures.writeTarGz(tar, tree("some-prefix/"));
        for (Path p : List.of(folder, tar)) {
            CifarData d = CifarDatasets.open(p.toString(), dir);
            assertEquals(List.of("ant", "zebra"), d.train().classes(), "sorted class names");
            assertEquals(3, d.train().size());
            assertEquals(2, d.test().size());
            CifarSplit.Batch b = d.train().batch(0, 3);
            // ant/0 is pure red: R plane 1, G and B planes 0.
            assertEquals(0, d.train().label(0));
            assertEquals(1f, b.images().getFloat(0, 0, 5, 5), 1e-6);
            assertEquals(0f, b.images().getFloat(0, 1, 5, 5), 1e-6);
            // Classes take turns (ant/0, zebra/0, ant/1), so the first images hold every class.
            assertEquals(1, d.train().label(1));
            assertEquals(0x10 / 255f, b.images().getFloat(1, 0, 0, 0), 1e-6);
            assertEquals(0, d.train().label(2));
            assertEquals(1f, b.images().getFloat(2, 1, 31, 0), 1e-6);
        }
    }

    @Test
    void classesTakeTurnsInStoredOrder() {
        int[][] slots = ImageFolder.interleaved(new int[] {3, 1, 2});
        assertEquals(List.of(0, 3, 5), java.util.Arrays.stream(slots[0]).boxed().toList());
        assertEquals(List.of(1), java.util.Arrays.stream(slots[1]).boxed().toList());
        assertEquals(List.of(2, 4), java.util.Arrays.stream(slots[2]).boxed().toList());
    }

    @Test
    void refusesUnevenClassesWrongSizesAndEmptyTrees() throws Exception {
        Map<String, byte[]> uneven = tree("");
        uneven.remove("test/zebra/0.png");
        uneven.put("test/horse/0.png", CifarFixtures.png(32, 0));
        Path u = dir.resolve("uneven");
        writeFolder(u, uneven);
        CifarDataException e = assertThrows(CifarDataException.class, () -> ImageFolder.load(u));
        assertTrue(e.getMessage().contains("different classes"), e.getMessage());

        Map<String, byte[]> big = tree("");
        big.put("train/ant/2.png", CifarFixtures.png(28, 0));
        Path b = dir.resolve("big.tar.gz");
        CifarFixtures.writeTarGz(b, big);
        e = assertThrows(CifarDataException.class, () -> ImageFolder.load(b));
        assertTrue(e.getMessage().contains("28×28") && e.getMessage().contains("32×32"), e.getMessage());

        Path empty = dir.resolve("empty");
        Files.createDirectories(empty.resolve("train/cat"));
        e = assertThrows(CifarDataException.class, () -> ImageFolder.load(empty));
        assertTrue(e.getMessage().contains("no images"), e.getMessage());

        Map<String, byte[]> corrupt = tree("");
        corrupt.put("train/ant/3.jpg", new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        Path c = dir.resolve("corrupt");
        writeFolder(c, corrupt);
        e = assertThrows(CifarDataException.class, () -> ImageFolder.load(c));
        assertTrue(e.getMessage().contains("train/ant image"), e.getMessage());
    }
}
