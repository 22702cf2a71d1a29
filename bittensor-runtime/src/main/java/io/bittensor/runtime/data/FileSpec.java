package io.bittensor.runtime.data;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * One expected data file: its name, size in bytes and checksum. A file that differs in any of
 * them is not the data set's file.
 *
 * @param name      file name (no directories)
 * @param size      exact size in bytes
 * @param algorithm a {@link java.security.MessageDigest} algorithm, e.g. {@code SHA-256} or {@code MD5}
 * @param checksum  the expected digest, lowercase hex
 */
public record FileSpec(String name, long size, String algorithm, String checksum) {
    public FileSpec {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw new IllegalArgumentException("a plain file name is expected, got '" + name + "'");
        }
        if (size < 0) {
            throw new IllegalArgumentException("size must not be negative, got " + size);
        }
        Objects.requireNonNull(algorithm, "algorithm");
        checksum = checksum.toLowerCase(Locale.ROOT);
        HexFormat.of().parseHex(checksum); // rejects a malformed digest now rather than at every check
        Checksums.digest(algorithm); // rejects an unknown algorithm now
    }

    /** A file checked by SHA-256. */
    public static FileSpec sha256(String name, long size, String hex) {
        return new FileSpec(name, size, "SHA-256", hex);
    }

    /** A file checked by MD5 (as some data sets publish; not a defence against a chosen forgery). */
    public static FileSpec md5(String name, long size, String hex) {
        return new FileSpec(name, size, "MD5", hex);
    }
}
