package io.bittensor.crypto;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key files: a neuron's Ed25519 seed on disk.
 *
 * <p>Format (UTF-8 text, {@code #} comments and blank lines ignored, every other line
 * {@code name=value}, each name once):
 * <pre>
 * # bittensor-java neuron key (Ed25519). Secret: whoever holds this file is this neuron.
 * format=bittensor-key-v1
 * seed=&lt;64 lowercase hex digits: the 32-byte RFC 8032 private key&gt;
 * public_key=0x&lt;64 hex digits&gt;   (a check: must be the key of the seed)
 * </pre>
 *
 * <p>Writing is atomic: the content goes to a temporary file in the same directory, created
 * owner-only ({@code rw-------}) before a byte is written, flushed to disk, then moved over the
 * target with {@code ATOMIC_MOVE}. A reader sees the old file or the new one, never a part.
 */
public final class KeyFiles {

    /** The value of the {@code format} line. */
    public static final String FORMAT = "bittensor-key-v1";
    /** Key files are tiny; a bigger file is refused unread. */
    static final long MAX_FILE_BYTES = 4096;

    private static final Logger LOG = LoggerFactory.getLogger(KeyFiles.class);
    private static final Set<PosixFilePermission> OWNER_ONLY =
            PosixFilePermissions.fromString("rw-------");
    private static final HexFormat HEX = HexFormat.of();

    private KeyFiles() {
    }

    /** Writes {@code kp} to {@code file} atomically, readable by the owner only; replaces it. */
    public static void save(Keypair kp, Path file) throws IOException {
        Path tmp = writeTemp(kp, file);
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            syncDirectory(file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a key file.
     *
     * @throws NoSuchFileException if there is no such file
     * @throws IOException naming the file and the problem: unreadable, too big, not UTF-8, a bad
     *     or missing line, or a public_key that is not the seed's
     */
    public static Keypair load(Path file) throws IOException {
        String text = readSmall(file);
        Map<String, String> fields = parse(file, text);
        for (String required : new String[] {"format", "seed", "public_key"}) {
            if (!fields.containsKey(required)) {
                throw bad(file, "missing the \"" + required + "=\" line");
            }
        }
        if (!FORMAT.equals(fields.get("format"))) {
            throw bad(file, "unknown format \"" + shorten(fields.get("format")) + "\", expected "
                    + FORMAT);
        }
        String seedHex = fields.get("seed");
        if (seedHex.length() != 2 * Keypair.SEED_BYTES) {
            throw bad(file, "seed must be 64 hex digits, got " + seedHex.length() + " characters");
        }
        byte[] seed;
        try {
            seed = HEX.parseHex(seedHex);
        } catch (IllegalArgumentException e) {
            throw bad(file, "seed is not hex");
        }
        Keypair kp;
        try {
            kp = Keypair.fromSeed(seed);
        } finally {
            Arrays.fill(seed, (byte) 0);
        }
        String publicKey = fields.get("public_key");
        byte[] claimed;
        try {
            claimed = Ed25519.parseKeyHex(publicKey);
        } catch (IllegalArgumentException e) {
            throw bad(file, "public_key is not \"0x\" followed by 64 hex digits");
        }
        if (!Arrays.equals(claimed, kp.publicKeyBytes())) {
            throw bad(file, "public_key " + shorten(publicKey) + " is not the key of the seed ("
                    + kp.publicKeyHex() + "): the file is corrupt or was edited");
        }
        warnIfShared(file);
        return kp;
    }

    /**
     * Loads {@code file}, or creates it with a fresh key pair if it does not exist (creating
     * missing parent directories). If two processes race to create it, both end up with the one
     * that landed first.
     */
    public static Keypair loadOrCreate(Path file) throws IOException {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return load(file);
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Keypair kp = Keypair.generate();
        Path tmp = writeTemp(kp, file);
        try {
            // A hard link never replaces: the first creator wins, the others load its key.
            Files.createLink(file, tmp);
            syncDirectory(file);
            LOG.info("created key file {} for neuron {}", file, kp.publicKeyHex());
            return kp;
        } catch (FileAlreadyExistsException e) {
            return load(file);
        } catch (UnsupportedOperationException | IOException e) {
            if (Files.exists(file)) {
                return load(file);
            }
            // No hard links on this file system: a plain atomic move (last writer wins).
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(file);
            return kp;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Path writeTemp(Keypair kp, Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        String name = file.getFileName().toString();
        boolean posix = Files.getFileAttributeView(dir, PosixFileAttributeView.class) != null;
        FileAttribute<?>[] attrs = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
                : new FileAttribute<?>[0];
        if (!posix) {
            LOG.warn("{} is not on a POSIX file system: cannot make the key file owner-only", dir);
        }
        // Created with the permissions already set, so the seed is never world-readable.
        Path tmp = Files.createTempFile(dir, "." + name + ".", ".tmp", attrs);
        byte[] content = render(kp);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        } finally {
            Arrays.fill(content, (byte) 0);
        }
        return tmp;
    }

    private static byte[] render(Keypair kp) {
        byte[] seed = kp.seed();
        try {
            return ("# bittensor-java neuron key (Ed25519)."
                    + " Secret: whoever holds this file is this neuron.\n"
                    + "format=" + FORMAT + "\n"
                    + "seed=" + HEX.formatHex(seed) + "\n"
                    + "public_key=" + kp.publicKeyHex() + "\n").getBytes(StandardCharsets.UTF_8);
        } finally {
            Arrays.fill(seed, (byte) 0);
        }
    }

    private static String readSmall(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw bad(file, "is a directory");
        }
        byte[] bytes;
        // Read at most one byte past the limit: a huge (or endless) file is never slurped.
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            NoSuchFileException clear = new NoSuchFileException(file.toString(), null,
                    "key file does not exist");
            clear.initCause(e);
            throw clear;
        } catch (AccessDeniedException e) {
            throw new IOException("key file " + file + ": cannot be read (permission denied)", e);
        } catch (IOException e) {
            throw new IOException("key file " + file + ": cannot be read (" + e + ")", e);
        }
        if (bytes.length > MAX_FILE_BYTES) {
            throw bad(file, "is over " + MAX_FILE_BYTES + " bytes; not a key file");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw bad(file, "is not UTF-8 text");
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    private static Map<String, String> parse(Path file, String text) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw bad(file, "line " + (i + 1) + " is not name=value");
            }
            String name = line.substring(0, eq).strip();
            if (!Set.of("format", "seed", "public_key").contains(name)) {
                throw bad(file, "line " + (i + 1) + ": unknown name \"" + shorten(name) + "\"");
            }
            if (fields.put(name, line.substring(eq + 1).strip()) != null) {
                throw bad(file, "line " + (i + 1) + ": \"" + name + "\" given twice");
            }
        }
        return fields;
    }

    private static void warnIfShared(Path file) {
        try {
            PosixFileAttributeView view =
                    Files.getFileAttributeView(file, PosixFileAttributeView.class);
            if (view != null && !OWNER_ONLY.containsAll(view.readAttributes().permissions())) {
                LOG.warn("key file {} is readable by others ({}); run chmod 600 on it", file,
                        PosixFilePermissions.toString(view.readAttributes().permissions()));
            }
        } catch (IOException e) {
            LOG.debug("cannot read the permissions of {}", file, e);
        }
    }

    /** fsync the directory so the rename itself survives a crash (best effort: not everywhere). */
    private static void syncDirectory(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot fsync directory {}", dir, e);
        }
    }

    private static IOException bad(Path file, String problem) {
        return new IOException("key file " + file + ": " + problem);
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
