package io.bittensor.examples.cifar;

import io.bittensor.runtime.DataException;
import io.bittensor.runtime.data.DataFetcher;
import io.bittensor.runtime.data.DataSource;
import io.bittensor.runtime.data.FileSpec;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Picks the loader for {@code --dataset}: a folder is an image-folder tree; a {@code .tar.gz} is
 * the binary release if it holds {@code *_batch*.bin} files, else an image-folder tree; no path
 * means the binary release in {@code datapath}, downloaded there first if missing (the runtime's
 * {@link DataFetcher}: size and MD5 checked, atomic, a damaged local copy reported).
 */
public final class CifarDatasets {
    /** The authors' binary release as the fetcher checks it. */
    static final FileSpec RELEASE = FileSpec.md5(CifarBinary.FILE_NAME, CifarBinary.ARCHIVE_BYTES, CifarBinary.MD5);

    private CifarDatasets() {
    }

    /**
     * @param dataset  the --dataset flag (null or blank: the binary release)
     * @param datapath where a downloaded release is kept
     * @throws CifarDataException one line saying what is wrong with which file
     */
    public static CifarData open(String dataset, Path datapath) {
        if (dataset == null || dataset.isBlank()) {
            return CifarBinary.load(fetch(DataSource.http(URI.create(CifarBinary.URL)), RELEASE, datapath));
        }
        Path path = Path.of(dataset);
        if (Files.isDirectory(path)) {
            return ImageFolder.load(path);
        }
        if (!Files.isRegularFile(path)) {
            throw new CifarDataException("dataset " + path + " does not exist (give a folder or a .tar.gz)");
        }
        if (!path.getFileName().toString().endsWith(".tar.gz") && !path.getFileName().toString().endsWith(".tgz")) {
            throw new CifarDataException("dataset " + path + " is neither a folder nor a .tar.gz");
        }
        return CifarBinary.looksBinary(path) ? CifarBinary.load(path) : ImageFolder.load(path);
    }

    /**
     * The release in {@code datapath}, fetched from {@code source} first if absent.
     *
     * @throws CifarDataException a damaged local copy, a failed download, or one of another size or checksum
     */
    static Path fetch(DataSource source, FileSpec release, Path datapath) {
        try {
            return DataFetcher.builder("CIFAR-10", source).files(release).timeout(Duration.ofMinutes(30)).build()
                    .ensure(datapath).resolve(release.name());
        } catch (DataException e) {
            throw new CifarDataException(e.getMessage(), e);
        }
    }
}
