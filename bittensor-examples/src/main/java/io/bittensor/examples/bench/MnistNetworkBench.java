package io.bittensor.examples.bench;

import io.bittensor.examples.mnist.MnistData;
import io.bittensor.examples.mnist.MnistNeuronMain;
import io.bittensor.examples.mnist.MnistSoloMain;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What joining the network costs a neuron (issue 12): the MNIST neuron's training steps per second
 * alone ({@link MnistSoloMain}), networked in one process ({@link MnistNeuronMain} calling its own
 * Axon, as a lone neuron does), and as two networked processes on this machine (the README's two
 * commands), measured back to back in one run, each as its own JVM as a user runs it.
 *
 * <p>Steps per second come from each process's {@code metrics.csv}: the steps between the row at
 * the end of the warm-up and the last training row, over the time between them, so JVM start, data
 * loading, JIT warm-up and evaluation are not counted. For the two processes only the rows inside
 * the window where both were training count.
 *
 * <pre>
 * java -cp bittensor-examples/target/bittensor-examples.jar io.bittensor.examples.bench.MnistNetworkBench \
 *     --datapath data/ [--train_limit 19200] [--epochs 1] [--warmup_steps 50] [--jvm_options "-Xmx512m ..."]
 * </pre>
 *
 * <p>With {@code --epochs 2} and a warm-up longer than the first epoch, the timed window is the
 * second epoch's steady state: two processes sharing two cores still spend a fifth of a core each
 * on JIT compilation a minute in (docs/benchmarks.md).
 */
@Command(name = "mnist-network-bench", mixinStandardHelpOptions = true,
        description = "MNIST steps/s alone, networked in one process, and as two networked processes, in one run.")
public final class MnistNetworkBench implements Callable<Integer> {
    @Option(names = "--datapath", defaultValue = "data/", description = "Where MNIST lives (fetched if absent). Default: ${DEFAULT-VALUE}")
    Path datapath;
    @Option(names = "--train_limit", defaultValue = "19200", description = "Training images per run (one epoch). Default: ${DEFAULT-VALUE}")
    int trainLimit;
    @Option(names = "--epochs", defaultValue = "1",
            description = "Epochs per run; the warm-up counts global steps across them. Default: ${DEFAULT-VALUE}")
    int epochs;
    @Option(names = "--warmup_steps", defaultValue = "50", description = "Steps not timed at the start of each run. Default: ${DEFAULT-VALUE}")
    int warmupSteps;
    @Option(names = "--modes", split = ",", defaultValue = "solo,networked,two",
            description = "Which runs, in order: solo, networked, two. Default: ${DEFAULT-VALUE}")
    List<String> modes;
    @Option(names = "--jvm_options", defaultValue = "-Xmx512m -Dorg.bytedeco.javacpp.maxbytes=512m -Dbittensor.maxrss=1280m",
            description = "Options of each neuron's JVM. Default: ${DEFAULT-VALUE}")
    String jvmOptions;
    @Option(names = "--seed", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}")
    long seed;

    private static final int LOG_INTERVAL = 10;
    private static final long RUN_TIMEOUT_MINUTES = 30;

    public static void main(String[] args) {
        System.exit(new CommandLine(new MnistNetworkBench()).execute(args));
    }

    /** One process's timed window: steps between two metric rows and the milliseconds between them. */
    record Window(long steps, long millis) {
        double stepsPerSecond() {
            return millis <= 0 ? Double.NaN : 1000.0 * steps / millis;
        }
    }

    /** A training row of metrics.csv: when, and the global step. */
    record Row(long timeMs, long step) {}

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || warmupSteps < 0 || trainLimit < 1) {
            System.err.println("--epochs and --train_limit must be >= 1 and --warmup_steps >= 0");
            return 2;
        }
        MnistData.load(datapath); // fetched once here, not by three processes at once
        Path scratch = Files.createTempDirectory("mnist-network-bench");
        List<String> table = new ArrayList<>();
        double loadBefore = MnistSoloBench.load();
        double solo = Double.NaN;
        try {
            for (String mode : modes) {
                switch (mode) {
                    case "solo" -> {
                        List<Row> rows = runAll(scratch.resolve("solo"), List.of(soloCommand(scratch.resolve("solo/a"))))
                                .get(0);
                        Window w = window(rows, Long.MIN_VALUE, Long.MAX_VALUE);
                        solo = w.stepsPerSecond();
                        table.add(row("solo", "1 of 1", w, solo));
                    }
                    case "networked" -> {
                        int[] ports = freePorts(2);
                        List<Row> rows = runAll(scratch.resolve("networked"),
                                List.of(neuronCommand(scratch.resolve("networked/a"), ports[0], ports[1], null))).get(0);
                        Window w = window(rows, Long.MIN_VALUE, Long.MAX_VALUE);
                        table.add(row("networked, one process", "1 of 1", w, solo));
                    }
                    case "two" -> {
                        int[] ports = freePorts(4);
                        List<List<Row>> both = runAll(scratch.resolve("two"), List.of(
                                neuronCommand(scratch.resolve("two/a"), ports[0], ports[1], null),
                                neuronCommand(scratch.resolve("two/b"), ports[2], ports[3], "127.0.0.1:" + ports[1])));
                        long from = Math.max(both.get(0).get(0).timeMs(), both.get(1).get(0).timeMs());
                        long to = Math.min(last(both.get(0)).timeMs(), last(both.get(1)).timeMs());
                        for (int i = 0; i < 2; i++) {
                            table.add(row("networked, two processes", (i + 1) + " of 2", window(both.get(i), from, to), solo));
                        }
                    }
                    default -> throw new CommandLine.ParameterException(new CommandLine(this),
                            "--modes takes solo, networked, two; not '" + mode + "'");
                }
            }
        } finally {
            MnistSoloBench.deleteRecursively(scratch);
        }
        System.out.printf(Locale.ROOT, "MNIST, batch 64, %d training images per epoch, %d epoch(s), %d warm-up steps untimed, OMP_NUM_THREADS=%s,"
                        + " %d cores, JVM options %s; load average before %.2f, after %.2f%n",
                trainLimit, epochs, warmupSteps, System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors(),
                jvmOptions, loadBefore, MnistSoloBench.load());
        System.out.println("| run | process | timed steps | seconds | steps/s | ÷ solo |");
        System.out.println("|---|---|---:|---:|---:|---:|");
        table.forEach(System.out::println);
        return 0;
    }

    private String row(String mode, String process, Window w, double solo) {
        return String.format(Locale.ROOT, "| %s | %s | %d | %.1f | %.2f | %.2f |", mode, process, w.steps(),
                w.millis() / 1000.0, w.stepsPerSecond(), w.stepsPerSecond() / solo);
    }

    /** Steps/s over the training rows after the warm-up that fall within [from, to]. */
    Window window(List<Row> rows, long from, long to) {
        List<Row> timed = rows.stream().filter(r -> r.step() >= warmupSteps && r.timeMs() >= from && r.timeMs() <= to)
                .toList();
        if (timed.size() < 2) {
            throw new IllegalStateException("fewer than two timed metric rows (" + timed.size()
                    + "); raise --train_limit or lower --warmup_steps");
        }
        Row first = timed.get(0);
        Row end = last(timed);
        return new Window(end.step() - first.step(), end.timeMs() - first.timeMs());
    }

    /** Each process gets its own datapath (its own key and checkpoint) that links to the one MNIST copy. */
    private List<String> common(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.createSymbolicLink(dir.resolve(MnistData.SUBDIR), datapath.toAbsolutePath().resolve(MnistData.SUBDIR));
        return List.of("--datapath", dir.toString(), "--logdir", dir.resolve("logs").toString(),
                "--epochs", String.valueOf(epochs), "--train_limit", String.valueOf(trainLimit), "--test_limit", "500",
                "--log_interval", String.valueOf(LOG_INTERVAL), "--seed", String.valueOf(seed));
    }

    private List<String> soloCommand(Path dir) throws IOException {
        List<String> cmd = java(MnistSoloMain.class);
        cmd.addAll(common(dir));
        return cmd;
    }

    private List<String> neuronCommand(Path dir, int axonPort, int metagraphPort, String bootstrap)
            throws IOException {
        List<String> cmd = java(MnistNeuronMain.class);
        cmd.addAll(common(dir));
        cmd.addAll(List.of("--axon_port", String.valueOf(axonPort), "--metagraph_port", String.valueOf(metagraphPort),
                "--remote_ip", "127.0.0.1"));
        if (bootstrap != null) {
            cmd.addAll(List.of("--bootstrap", bootstrap));
        }
        return cmd;
    }

    private List<String> java(Class<?> main) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmOptions.trim().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        return cmd;
    }

    /** Starts every command at once (each with its own directory), waits for all, returns each one's training rows. */
    private List<List<Row>> runAll(Path base, List<List<String>> commands) throws IOException, InterruptedException {
        List<Process> processes = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        try {
            for (List<String> cmd : commands) {
                Path dir = Path.of(cmd.get(cmd.indexOf("--logdir") + 1)).getParent();
                Files.createDirectories(dir);
                dirs.add(dir);
                processes.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("out.log").toFile()).start());
            }
            for (int i = 0; i < processes.size(); i++) {
                Process p = processes.get(i);
                if (!p.waitFor(RUN_TIMEOUT_MINUTES, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new IllegalStateException("run " + base.getFileName() + " process " + (i + 1) + " failed; its output:\n"
                            + Files.readString(dirs.get(i).resolve("out.log")));
                }
            }
        } finally {
            processes.forEach(Process::destroyForcibly);
        }
        List<List<Row>> result = new ArrayList<>();
        for (Path dir : dirs) {
            result.add(trainingRows(dir.resolve("logs/metrics.csv")));
        }
        return result;
    }

    /** The training rows of a metrics.csv written by the runtime (time_ms, phase, epoch, step, ...). */
    static List<Row> trainingRows(Path csv) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String line : Files.readAllLines(csv)) {
            String[] f = line.split(",");
            if (f.length > 3 && f[1].equals("train")) {
                rows.add(new Row(Long.parseLong(f[0]), Long.parseLong(f[3])));
            }
        }
        return rows;
    }

    private static Row last(List<Row> rows) {
        return rows.get(rows.size() - 1);
    }

    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<ServerSocket> open = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                open.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : open) {
                s.close();
            }
        }
        return ports;
    }
}
