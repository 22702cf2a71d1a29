package io.bittensor.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.bittensor.runtime.data.DataSource;
import io.bittensor.runtime.data.FileSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The release download (the runtime's DataFetcher, as CifarDatasets uses it) against a loopback HTTP server serving an archive the test writes. */
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

    private DataSource source(String path) {
        return DataSource.http(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path));
    }

    private FileSpec release(long size, String md5) {
        return FileSpec.md5(CifarBinary.FILE_NAME, size, md5);
    }

    private String md5() throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(archive));
    }

    @Test
    void downloadsOnceChecksAndLoads() throws Exception {
        Path data = dir.resolve("data");
        Path target = CifarDatasets.fetch(source("/cifar.tar.gz"), release(archive.length, md5()), data);
        assertEquals(data.resolve(CifarBinary.FILE_NAME), target);
        assertArrayEquals(archive, Files.readAllBytes(target));
        CifarDatasets.fetch(source("/cifar.tar.gz"), release(archive.length, md5()), data);
        assertEquals(1, requests.get(), "a good local copy is not fetched again");
        assertEquals(10, CifarBinary.load(target).train().size());
    }

    @Test
    void tamperedOrWrongSizedDownloadsLeaveNothing() throws Exception {
        Path data = dir.resolve("data");
        CifarDataException e = assertThrows(CifarDataException.class, () -> CifarDatasets.fetch(source("/cifar.tar.gz"),
                release(archive.length, "00000000000000000000000000000000"), data));
        assertTrue(e.getMessage().contains("nothing was kept"), e.getMessage());
        e = assertThrows(CifarDataException.class,
                () -> CifarDatasets.fetch(source("/cifar.tar.gz"), release(100, md5()), data));
        assertTrue(e.getMessage().contains("expected 100"), e.getMessage());
        e = assertThrows(CifarDataException.class,
                () -> CifarDatasets.fetch(source("/missing"), release(archive.length, md5()), data));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        assertFalse(Files.exists(data.resolve(CifarBinary.FILE_NAME)));
        try (Stream<Path> left = Files.list(data)) {
            assertEquals(0, left.filter(f -> !f.getFileName().toString().equals(".lock")).count(),
                    "no partial files left behind");
        }
    }

    @Test
    void damagedLocalCopyIsReportedNotOverwritten() throws Exception {
        Path target = dir.resolve(CifarBinary.FILE_NAME);
        Files.write(target, new byte[] {9, 9, 9});
        CifarDataException e = assertThrows(CifarDataException.class,
                () -> CifarDatasets.fetch(source("/cifar.tar.gz"), release(archive.length, md5()), dir));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        assertArrayEquals(new byte[] {9, 9, 9}, Files.readAllBytes(target));
        assertEquals(0, requests.get());
    }
}
