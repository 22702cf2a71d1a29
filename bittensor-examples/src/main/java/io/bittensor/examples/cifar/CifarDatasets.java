package io.bittensor.examples.cifar;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Picks the loader for {@code --dataset}: a folder is an image-folder tree; a {@code .tar.gz} is
 * the binary release if it holds {@code *_batch*.bin} files, else an image-folder tree; no path
 * means the binary release in {@code datapath}, downloaded there first if missing.
 */
public final class CifarDatasets {
    private CifarDatasets() {
    }

    /**
     * @param dataset  the --dataset flag (null or blank: the binary release)
     * @param datapath where a downloaded release is kept
     * @throws CifarDataException one line saying what is wrong with which file
     */
    public static CifarData open(String dataset, Path datapath) {
        if (dataset == null || dataset.isBlank()) {
            Path archive = datapath.resolve(CifarBinary.FILE_NAME);
            CifarDownload.fetch(URI.create(CifarBinary.URL), CifarBinary.MD5, CifarBinary.MAX_ARCHIVE_BYTES, archive);
            return CifarBinary.load(archive);
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
}
