package io.bittensor.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyFilesTest {

    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static Keypair savedKey(Path file) throws IOException {
        Keypair kp = Keypair.generate();
        KeyFiles.save(kp, file);
        return kp;
    }

    @Test
    void roundTripOwnerOnlyNoLeftovers() throws IOException {
        Path file = dir.resolve("neuron.key");
        Keypair kp = savedKey(file);
        Keypair back = KeyFiles.load(file);
        assertEquals(kp.publicKeyHex(), back.publicKeyHex());
        assertEquals(HexFormat.of().formatHex(kp.seed()), HexFormat.of().formatHex(back.seed()));
        assertEquals("rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(List.of("neuron.key"), names(), "no temp file left behind");
    }

    @Test
    void saveReplacesAnExistingFileAtomically() throws IOException {
        Path file = dir.resolve("neuron.key");
        KeyFiles.save(Keypair.generate(), file);
        Keypair second = Keypair.generate();
        KeyFiles.save(second, file);
        assertEquals(second, KeyFiles.load(file));
        assertEquals(List.of("neuron.key"), names());
    }

    @Test
    void failedSaveLeavesNoTempFile() throws IOException {
        Path file = dir.resolve("neuron.key");
        Files.createDirectory(file); // the target is a non-empty directory: the move must fail
        Files.writeString(file.resolve("x"), "x");
        assertThrows(IOException.class, () -> KeyFiles.save(Keypair.generate(), file));
        assertEquals(List.of("neuron.key"), names());
    }

    @Test
    void loadOrCreateCreatesOnceThenLoads() throws IOException {
        Path file = dir.resolve("sub/dir/neuron.key");
        Keypair first = KeyFiles.loadOrCreate(file);
        assertEquals(first, KeyFiles.loadOrCreate(file));
        assertEquals(first, KeyFiles.load(file));
        assertEquals("rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        try (Stream<Path> s = Files.list(file.getParent())) {
            assertEquals(1, s.count(), "no temp file left behind");
        }
    }

    @Test
    void missingFileIsNoSuchFileNamingIt() {
        Path file = dir.resolve("absent.key");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> KeyFiles.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void directoryInsteadOfFileSaysSo() throws IOException {
        Path file = Files.createDirectory(dir.resolve("neuron.key"));
        IOException e = assertThrows(IOException.class, () -> KeyFiles.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("directory"), e.getMessage());
    }

    @Test
    void unreadableFileSaysSo() throws IOException {
        Path file = dir.resolve("neuron.key");
        KeyFiles.save(Keypair.generate(), file);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        try {
            assumeFalse(Files.isReadable(file), "running as root: permissions do not stop us");
            IOException e = assertThrows(IOException.class, () -> KeyFiles.load(file));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        } finally {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    @Test
    void corruptFilesGiveClearErrors() throws IOException {
        Path file = dir.resolve("neuron.key");
        Keypair kp = savedKey(file);
        String good = Files.readString(file);
        String seedHex = HexFormat.of().formatHex(kp.seed());
        String otherKey = Keypair.generate().publicKeyHex();
        String[][] cases = {
            {"", "missing"},
            {"garbage", "not name=value"},
            {good.replace("format=" + KeyFiles.FORMAT, "format=v0"), "unknown format"},
            {good.replace("seed=" + seedHex, "seed=" + seedHex.substring(2)), "64 hex"},
            {good.replace("seed=" + seedHex, "seed=" + "zz" + seedHex.substring(2)), "not hex"},
            {good.replace(kp.publicKeyHex(), otherKey), "not the key of the seed"},
            {good.replace(kp.publicKeyHex(), "0x1234"), "public_key"},
            {good + "seed=" + seedHex + "\n", "twice"},
            {good + "colour=blue\n", "unknown name"},
            {good.replace("public_key=" + kp.publicKeyHex() + "\n", ""), "public_key"},
            {"x".repeat(10_000), "bytes"},
        };
        for (String[] c : cases) {
            Files.writeString(file, c[0]);
            IOException e = assertThrows(IOException.class, () -> KeyFiles.load(file), c[1]);
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), c[1] + " not in: " + e.getMessage());
            assertFalse(e.getMessage().contains(seedHex), "the seed must not leak into errors");
        }
        Files.write(file, new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        IOException e = assertThrows(IOException.class, () -> KeyFiles.load(file));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void fileIsReadableTextWithCommentsAllowed() throws IOException {
        Path file = dir.resolve("neuron.key");
        Keypair kp = savedKey(file);
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(text.contains("public_key=" + kp.publicKeyHex()));
        Files.writeString(file, "# mine\n\n" + text.replace("\n", "\r\n"));
        assertEquals(kp, KeyFiles.load(file));
        assertNotEquals(kp, Keypair.generate());
    }
}
