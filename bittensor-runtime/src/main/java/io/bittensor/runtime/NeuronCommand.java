package io.bittensor.runtime;

import io.bittensor.config.ConfigException;
import io.bittensor.config.MemoryBudget;
import io.bittensor.config.NativeBackend;
import io.bittensor.config.NeuronConfig;
import io.bittensor.config.ResidentMemoryWatch;
import io.bittensor.metagraph.MetagraphException;
import io.bittensor.metrics.NeuronMetrics;
import io.bittensor.session.NeuronSession;
import io.bittensor.telemetry.CallListener;
import io.bittensor.training.CheckpointException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * What a neuron's {@code main} does besides its own flags and data: the native build choice, a
 * command line whose errors are one line (bad flags exit 2; data, checkpoint, key-file and port
 * problems, and running out of memory, exit 1), and running a {@link NeuronTrainer} alone or on the network with Ctrl-C
 * (SIGINT/SIGTERM) ending the current step and closing everything.
 *
 * <pre>{@code
 * @Command(name = "my-neuron", mixinStandardHelpOptions = true)
 * public final class MyNeuronMain implements Callable<Integer> {
 *     @Mixin NeuronOptions neuron;
 *     @Mixin RunOptions run;
 *     @Mixin NetworkOptions net;
 *
 *     public static void main(String[] args) { NeuronCommand.main(new MyNeuronMain(), args); }
 *
 *     public Integer call() throws IOException {
 *         NeuronConfig config = neuron.toConfig();
 *         return NeuronCommand.runOnNetwork(MY_SPEC, config, run.limit(MyData.load(config.datapath())),
 *                 run.settings(net.topK()));
 *     }
 * }
 * }</pre>
 */
public final class NeuronCommand {
    private static final Logger LOG = LoggerFactory.getLogger(NeuronCommand.class);
    /** How long a signal waits for the current step to end before closing anyway. */
    private static final long STOP_WAIT_SECONDS = 10;

    private NeuronCommand() {}

    /**
     * Fills in the memory budget's defaults (before anything loads ND4J), picks the fastest native
     * build, then runs {@code command}'s command line with the process's RSS watched against the
     * budget's cap, and exits with its code. A bad memory size is one line and exit 2.
     */
    public static void main(Object command, String[] args) {
        main(command, args, MemoryBudget.DEFAULT_NATIVE, MemoryBudget.DEFAULT_RSS);
    }

    /**
     * As {@link #main(Object, String[])}, with the neuron's own defaults for ND4J's native limit and
     * the process's RSS cap (a model whose training step needs more than the default budget).
     */
    public static void main(Object command, String[] args, long nativeBytes, long rssBytes) {
        MemoryBudget budget;
        try {
            budget = MemoryBudget.applyDefaults(nativeBytes, rssBytes);
        } catch (ConfigException e) {
            System.err.println(commandLine(command).getCommandName() + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        int code;
        try (ResidentMemoryWatch watch = ResidentMemoryWatch.start(budget.rssBytes())) {
            code = execute(commandLine(command), args);
        }
        System.exit(code);
    }

    /**
     * Runs {@code cmd}; running out of memory (the Java heap, or JavaCPP's native limits
     * {@code maxbytes} / {@code maxphysicalbytes} when given) is one line on stderr and exit code 1
     * instead of a stack trace: what ran out, and which limits to raise.
     */
    public static int execute(CommandLine cmd, String... args) {
        try {
            return cmd.execute(args);
        } catch (RuntimeException | OutOfMemoryError e) {
            if (reportOutOfMemory(cmd, e)) {
                return 1;
            }
            throw e;
        }
    }

    /**
     * If {@code e} is or was caused by an {@link OutOfMemoryError}, prints the one line for it on
     * {@code cmd}'s stderr and returns true; else prints nothing and returns false.
     */
    public static boolean reportOutOfMemory(CommandLine cmd, Throwable e) {
        OutOfMemoryError oom = outOfMemory(e);
        if (oom == null) {
            return false;
        }
        // JavaCPP's strict RSS check is on only when given: name it only when it is what refused.
        String limit = String.valueOf(oom.getMessage()).contains("maxPhysicalBytes")
                ? MemoryBudget.MAX_PHYSICAL_BYTES : MemoryBudget.MAX_BYTES;
        cmd.getErr().println(cmd.getCommandName() + ": out of memory (" + oom.getMessage() + "); raise -Xmx or -D"
                + limit + " (see the start script), or lower --batch_size");
        cmd.getErr().flush();
        return true;
    }

    /** The OutOfMemoryError that {@code t} is or was caused by; null if none. */
    static OutOfMemoryError outOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof OutOfMemoryError oom) {
                return oom;
            }
        }
        return null;
    }

    /**
     * {@code command}'s command line with one-line errors: bad flags exit 2
     * ({@link NeuronOptions#withErrorHandler}); a {@link DataException}, {@link CheckpointException},
     * {@link MetagraphException} or I/O problem (a taken port, an unreadable file) prints
     * {@code <command>: <message>} and exits 1. Anything else is a bug and keeps its stack trace.
     */
    public static CommandLine commandLine(Object command) {
        CommandLine cmd = NeuronOptions.withErrorHandler(new CommandLine(command));
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof DataException || ex instanceof CheckpointException || ex instanceof IOException
                    || ex instanceof UncheckedIOException || ex instanceof MetagraphException) {
                Throwable cause = ex.getCause();
                String detail = cause != null && cause != ex && cause.getMessage() != null
                        && !String.valueOf(ex.getMessage()).contains(cause.getMessage()) ? " (" + cause.getMessage() + ")" : "";
                c.getErr().println(c.getCommandName() + ": " + ex.getMessage() + detail);
                c.getErr().flush();
                return 1;
            }
            if (reportOutOfMemory(c, ex)) { // e.g. an allocation failure that ND4J wrapped
                return 1;
            }
            throw ex;
        });
        return cmd;
    }

    /**
     * Trains alone for the configured epochs (resuming from the checkpoint); Ctrl-C stops after the
     * current step. With {@code --metrics_port}, the training series are served for Prometheus.
     */
    public static int runAlone(NeuronSpec<?> spec, NeuronConfig config, Dataset data, NeuronTrainer.Settings settings)
            throws IOException {
        MemoryBudget.current().log();
        try (NeuronMetrics metrics = NeuronMetrics.builder().build();
                NeuronTrainer trainer = NeuronTrainer.solo(spec, data, config, settings)) {
            if (config.metricsPort().isPresent()) { // training series only: no network alone
                meter(trainer, metrics);
                metrics.serve(config.metricsPort().getAsInt());
                LOG.info("metrics: http://{}:{}/metrics", config.remoteIp(), metrics.port());
            }
            return runStoppable(trainer, null, null);
        }
    }

    /**
     * Starts a session from {@code config} (metagraph, Axon, Dendrite), serves and trains the model
     * on it for the configured epochs, then closes everything; Ctrl-C stops after the current step.
     */
    public static int runOnNetwork(NeuronSpec<?> spec, NeuronConfig config, Dataset data,
            NeuronTrainer.Settings settings) throws IOException {
        MemoryBudget.current().log();
        boolean metered = config.metricsPort().isPresent();
        try (NeuronMetrics metrics = NeuronMetrics.builder().build();
                NeuronSession session = NeuronSession.builder(config)
                        .callListener(metered ? metrics : CallListener.NONE).build();
                NeuronTrainer trainer = NeuronTrainer.networked(spec, session, data, settings)) {
            if (metered) {
                meter(trainer, metrics);
            }
            return runStoppable(trainer, session, metered ? metrics : null);
        }
    }

    /** Training loss, accuracy and steps into the Prometheus series. */
    private static void meter(NeuronTrainer trainer, NeuronMetrics metrics) {
        trainer.setPhaseListener((phase, loss, accuracy) -> metrics.training(phase.name().toLowerCase(Locale.ROOT),
                loss, accuracy));
        trainer.setListener((epoch, step, result, answered, stats) -> metrics.steps(1));
    }

    private static int runStoppable(NeuronTrainer trainer, NeuronSession session, NeuronMetrics metrics)
            throws IOException {
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            LOG.info("stopping (signal): finishing the current step");
            trainer.stop();
            try {
                done.await(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (session != null) {
                session.close();
            }
        }, "neuron-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            if (session != null) {
                session.start();
                if (metrics != null) {
                    metrics.watch(session).serve(session.config().metricsPort().getAsInt());
                    LOG.info("metrics: http://{}:{}/metrics", session.config().remoteIp(), metrics.port());
                }
                LOG.info("to join this neuron: --bootstrap {}", session.metagraphAddress());
            }
            trainer.run();
        } finally {
            if (session != null) {
                session.close(); // peers stop calling the snapshot before the model closes
            }
            done.countDown();
            removeQuietly(hook);
        }
        return 0;
    }

    private static void removeQuietly(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook is running
        }
    }
}
