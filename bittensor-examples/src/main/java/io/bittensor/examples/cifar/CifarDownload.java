package io.bittensor.examples.cifar;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * Fetches a file once into a local path: kept if its MD5 matches, else downloaded to a temporary
 * file beside it, size-capped, checked, and moved into place atomically (a failed or tampered
 * download never leaves a file that looks complete).
 */
final class CifarDownload {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(30);

    private CifarDownload() {
    }

    static void fetch(URI uri, String md5, long maxBytes, Path target) {
        if (Files.isRegularFile(target)) {
            String have = md5(target);
            if (have.equalsIgnoreCase(md5)) {
                return;
            }
            throw new CifarDataException(target + " is damaged (md5 " + have + ", expected " + md5
                    + "); delete it to download again");
        }
        Path tmp = null;
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            tmp = Files.createTempFile(target.toAbsolutePath().getParent(), target.getFileName().toString(), ".part");
            HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
            HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(tmp)) {
                if (r.statusCode() != 200) {
                    throw new CifarDataException("download of " + uri + " failed: HTTP " + r.statusCode());
                }
                byte[] buf = new byte[1 << 16];
                long total = 0;
                for (int k; (k = in.read(buf)) > 0; ) {
                    total += k;
                    if (total > maxBytes) {
                        throw new CifarDataException("download of " + uri + " exceeds " + maxBytes + " bytes; refused");
                    }
                    out.write(buf, 0, k);
                }
            }
            String got = md5(tmp);
            if (!got.equalsIgnoreCase(md5)) {
                throw new CifarDataException("download of " + uri + " has md5 " + got + ", expected " + md5
                        + " (corrupt or tampered); nothing kept");
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException e) {
            throw new CifarDataException("cannot download " + uri + " to " + target + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CifarDataException("download of " + uri + " interrupted", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: a stray .part file is harmless
                }
            }
        }
    }

    static String md5(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("MD5");
            byte[] buf = new byte[1 << 16];
            for (int k; (k = in.read(buf)) > 0; ) {
                d.update(buf, 0, k);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (IOException e) {
            throw new CifarDataException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
