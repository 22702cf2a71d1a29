package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against a loopback HTTP server serving an archive the test writes. */
class CifarDownloadTest {
    @TempDir
    Path dir;
    private HttpServer server;
    private byte[] archive;
    private final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void serve() throws Exception {
        Path file = dir.resolve("src.tar.gz");
        CifarFixtures.writeTarGz(file, CifarFixtures.binaryRelease(2));
        archive = Files.readAllBytes(file);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/cifar.tar.gz", ex -> {
            requests.incrementAndGet();
            ex.sendResponseHeaders(200, archive.length);
            ex.getResponseBody().write(archive);
            ex.close();
        });
        server.createContext("/missing", ex -> {
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    @Test
    void downloadsOnceChecksAndLoads() throws Exception {
        Path target = dir.resolve("data/cifar.tar.gz");
        String md5 = CifarDownload.md5(dir.resolve("src.tar.gz"));
        CifarDownload.fetch(uri("/cifar.tar.gz"), md5, 1 << 20, target);
        assertArrayEquals(archive, Files.readAllBytes(target));
        CifarDownload.fetch(uri("/cifar.tar.gz"), md5, 1 << 20, target);
        assertEquals(1, requests.get(), "a good local copy is not fetched again");
        assertEquals(10, CifarBinary.load(target).train().size());
    }

    @Test
    void tamperedOrOversizedDownloadsLeaveNothing() throws Exception {
        Path target = dir.resolve("data/cifar.tar.gz");
        CifarDataException e = assertThrows(CifarDataException.class,
                () -> CifarDownload.fetch(uri("/cifar.tar.gz"), "00000000000000000000000000000000", 1 << 20, target));
        assertTrue(e.getMessage().contains("tampered"), e.getMessage());
        assertFalse(Files.exists(target));
        String md5 = CifarDownload.md5(dir.resolve("src.tar.gz"));
        e = assertThrows(CifarDataException.class, () -> CifarDownload.fetch(uri("/cifar.tar.gz"), md5, 100, target));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
        e = assertThrows(CifarDataException.class, () -> CifarDownload.fetch(uri("/missing"), md5, 1 << 20, target));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        assertFalse(Files.exists(target));
        try (Stream<Path> left = Files.list(target.getParent())) {
            assertEquals(0, left.count(), "no partial files left behind");
        }
    }

    @Test
    void damagedLocalCopyIsReportedNotOverwritten() throws Exception {
        Path target = dir.resolve("cifar.tar.gz");
        Files.write(target, new byte[] {9, 9, 9});
        CifarDataException e = assertThrows(CifarDataException.class,
                () -> CifarDownload.fetch(uri("/cifar.tar.gz"), CifarDownload.md5(dir.resolve("src.tar.gz")), 1 << 20, target));
        assertTrue(e.getMessage().contains("damaged"), e.getMessage());
        assertEquals(0, requests.get());
    }
}
