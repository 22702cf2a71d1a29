package io.bittensor.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.bittensor.runtime.DataException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fetching over real HTTP on loopback and through a command, against files the test writes. */
class DataFetcherTest {
    @TempDir
    Path tmp;

    private HttpServer server;
    private final AtomicReference<byte[]> served = new AtomicReference<>();
    private final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void serve() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            byte[] body = served.get();
            if (body == null || !exchange.getRequestURI().getPath().endsWith(".tar.gz")) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private URI uri(String name) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/data/" + name);
    }

    private static String hex(String algorithm, byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(b));
    }

    private static byte[] tarGz(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
                entry.setSize(e.getValue().length);
                tar.putArchiveEntry(entry);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    private List<String> leftovers(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
        }
    }

    @Test
    void downloadsOnceCheckedByMd5ThenReusesTheFile() throws Exception {
        byte[] archive = tarGz(Map.of("a.bin", new byte[] {1, 2, 3}));
        served.set(archive);
        DataFetcher f = DataFetcher.builder("TOY", DataSource.http(uri("toy.tar.gz")))
                .files(FileSpec.md5("toy.tar.gz", archive.length, hex("MD5", archive))).build();
        Path dir = tmp.resolve("toy");
        assertEquals(dir, f.ensure(dir));
        assertArrayEquals(archive, Files.readAllBytes(dir.resolve("toy.tar.gz")));
        f.ensure(dir);
        assertEquals(1, requests.get(), "a present, valid file is not fetched again");
        assertEquals(List.of(".lock"), leftovers(dir), "no temporary files left");
    }

    @Test
    void entriesAreReadStraightOutOfAKeptCheckedArchive() throws Exception {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("package/data/b.txt", "second".getBytes(StandardCharsets.UTF_8));
        files.put("package/data/a.txt", "first".getBytes(StandardCharsets.UTF_8));
        files.put("package/data/notes.md", "skipped".getBytes(StandardCharsets.UTF_8));
        files.put("package/README.txt", "skipped".getBytes(StandardCharsets.UTF_8));
        byte[] archive = tarGz(files);
        served.set(archive);
        DataFetcher f = DataFetcher.builder("TEXT", DataSource.http(uri("pkg.tar.gz")))
                .files(FileSpec.sha256("pkg.tgz", archive.length, hex("SHA-256", archive))).build();
        Path tgz = f.ensure(tmp.resolve("text")).resolve("pkg.tgz");
        List<ArchiveEntries.Entry> read = ArchiveEntries.read(tgz, "package/data/", ".txt");
        assertEquals(List.of("a.txt", "b.txt"), read.stream().map(ArchiveEntries.Entry::name).toList());
        assertEquals("first", new String(read.get(0).bytes(), StandardCharsets.UTF_8));

        Path notAnArchive = Files.write(tmp.resolve("plain.tgz"), new byte[] {1, 2, 3});
        DataException e = assertThrows(DataException.class, () -> ArchiveEntries.read(notAnArchive, "", ""));
        assertTrue(e.getMessage().contains("is not a readable .tar.gz"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void aTamperedDownloadIsRefusedAndLeavesNothing() throws Exception {
        byte[] archive = tarGz(Map.of("a.bin", new byte[] {1, 2, 3}));
        byte[] tampered = archive.clone();
        tampered[tampered.length - 1] ^= 1;
        served.set(tampered);
        DataFetcher f = DataFetcher.builder("TOY", DataSource.http(uri("toy.tar.gz")))
                .files(FileSpec.md5("toy.tar.gz", archive.length, hex("MD5", archive))).build();
        Path dir = tmp.resolve("toy");
        DataException e = assertThrows(DataException.class, () -> f.ensure(dir));
        assertTrue(e.getMessage().contains("MD5") && e.getMessage().contains("nothing was kept"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        assertFalse(Files.exists(dir.resolve("toy.tar.gz")));
        assertEquals(List.of(".lock"), leftovers(dir));

        served.set(new byte[] {1, 2});
        e = assertThrows(DataException.class, () -> f.ensure(dir));
        assertTrue(e.getMessage().contains("has 2 bytes, expected " + archive.length), e.getMessage());
    }

    @Test
    void anHttpErrorIsOneLine() throws Exception {
        DataFetcher f = DataFetcher.builder("TOY", DataSource.http(uri("missing.bin")))
                .files(FileSpec.sha256("missing.bin", 3, hex("SHA-256", new byte[3]))).build();
        DataException e = assertThrows(DataException.class, () -> f.ensure(tmp.resolve("toy")));
        assertTrue(e.getMessage().contains("HTTP 404") && e.getMessage().contains("yourself"), e.getMessage());
    }

    @Test
    void aDeadServerSaysToCheckTheNetwork() throws Exception {
        URI dead = uri("toy.tar.gz");
        server.stop(0);
        DataFetcher f = DataFetcher.builder("TOY", DataSource.http(dead))
                .files(FileSpec.md5("toy.tar.gz", 3, hex("MD5", new byte[3]))).timeout(Duration.ofSeconds(10)).build();
        DataException e = assertThrows(DataException.class, () -> f.ensure(tmp.resolve("toy")));
        assertTrue(e.getMessage().contains("cannot download") && e.getMessage().contains("check the network"),
                e.getMessage());
    }

    @Test
    void extractsCheckedEntriesFromAFetchedArchive() throws Exception {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("package/README", "hello".getBytes(StandardCharsets.UTF_8));
        files.put("package/data/x.txt", "some text".getBytes(StandardCharsets.UTF_8));
        files.put("package/data/y.bin", new byte[] {9, 8, 7, 6});
        served.set(tarGz(files));
        DataFetcher f = DataFetcher.builder("TEXT", DataSource.http(uri("pkg.tar.gz")))
                .files(FileSpec.sha256("x.txt", 9, hex("SHA-256", files.get("package/data/x.txt"))),
                        FileSpec.sha256("y.bin", 4, hex("SHA-256", files.get("package/data/y.bin"))))
                .fromArchive("package/data/").build();
        Path dir = f.ensure(tmp.resolve("text"));
        assertEquals("some text", Files.readString(dir.resolve("x.txt")));
        assertArrayEquals(new byte[] {9, 8, 7, 6}, Files.readAllBytes(dir.resolve("y.bin")));
        assertFalse(Files.exists(dir.resolve("pkg.tar.gz")), "the archive is not kept");

        DataFetcher wantsMore = DataFetcher.builder("TEXT", DataSource.http(uri("pkg.tar.gz")))
                .files(FileSpec.sha256("z.txt", 1, hex("SHA-256", new byte[1]))).fromArchive("package/data/").build();
        DataException e = assertThrows(DataException.class, () -> wantsMore.ensure(tmp.resolve("more")));
        assertTrue(e.getMessage().contains("lacks [package/data/z.txt]"), e.getMessage());
    }

    @Test
    void aFetchedFileThatIsNoArchiveIsOneLine() throws Exception {
        served.set("not gzip at all".getBytes(StandardCharsets.UTF_8));
        DataFetcher f = DataFetcher.builder("TEXT", DataSource.http(uri("pkg.tar.gz")))
                .files(FileSpec.sha256("x.txt", 1, hex("SHA-256", new byte[1]))).fromArchive("package/").build();
        DataException e = assertThrows(DataException.class, () -> f.ensure(tmp.resolve("t")));
        assertTrue(e.getMessage().contains("not a readable .tar.gz"), e.getMessage());
    }

    @Test
    void aCorruptPresentFileIsReportedNotReplaced() throws Exception {
        byte[] good = {1, 2, 3};
        Path dir = Files.createDirectories(tmp.resolve("toy"));
        Files.write(dir.resolve("toy.tar.gz"), new byte[] {1, 2, 4});
        DataFetcher f = DataFetcher.builder("TOY", DataSource.http(uri("toy.tar.gz")))
                .files(FileSpec.md5("toy.tar.gz", 3, hex("MD5", good))).build();
        DataException e = assertThrows(DataException.class, () -> f.ensure(dir));
        assertTrue(e.getMessage().contains("TOY file " + dir.resolve("toy.tar.gz") + " is corrupt")
                && e.getMessage().contains("MD5") && e.getMessage().contains("delete it"), e.getMessage());
        assertEquals(0, requests.get());
    }

    @Test
    void aMissingToolSaysWhatToInstall() throws Exception {
        DataFetcher f = DataFetcher.builder("TEXT", DataSource.command(List.of("no-such-tool-4f1c", "fetch"), ".tgz",
                "the toy package", "install the toy tool", "check the toy registry"))
                .files(FileSpec.sha256("x.txt", 1, hex("SHA-256", new byte[1]))).fromArchive("package/").build();
        DataException e = assertThrows(DataException.class, () -> f.ensure(tmp.resolve("t")));
        assertTrue(e.getMessage().contains("cannot run 'no-such-tool-4f1c fetch'")
                && e.getMessage().contains("install the toy tool") && e.getMessage().contains("x.txt"), e.getMessage());
    }

    @Test
    void specsRefuseNonsense() {
        assertThrows(IllegalArgumentException.class, () -> FileSpec.sha256("../x", 1, "00"));
        assertThrows(IllegalArgumentException.class, () -> FileSpec.sha256("x", -1, "00"));
        assertThrows(IllegalArgumentException.class, () -> FileSpec.sha256("x", 1, "not hex"));
        assertThrows(IllegalArgumentException.class, () -> new FileSpec("x", 1, "NO-SUCH-DIGEST", "00"));
        assertThrows(IllegalArgumentException.class, () -> DataSource.http(URI.create("file:///etc/passwd")));
        assertThrows(IllegalArgumentException.class, () -> DataFetcher.builder("X", DataSource.http(uri("a.tar.gz")))
                .files(FileSpec.sha256("a", 1, "00"), FileSpec.sha256("b", 1, "00")).build(), "two files need an archive");
    }
}
