package io.bittensor.examples.mnist;

import io.bittensor.config.MemoryBudget;
import io.bittensor.config.NativeBackend;
import io.bittensor.config.NeuronConfig;
import io.bittensor.metrics.NeuronMetrics;
import io.bittensor.runtime.NeuronOptions;
import io.bittensor.session.NeuronSession;
import io.bittensor.telemetry.CallListener;
import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The MNIST neuron on the network: joins the metagraph ({@code --bootstrap}), serves a snapshot of
 * its model on the Axon, and trains with the network's answer as context, sending gradients back to
 * the peers it called. Each epoch it evaluates on the 10k test images, appends metrics to
 * {@code <logdir>/metrics.csv}, redraws the plots, and saves and serves the best model.
 * Ctrl-C (SIGINT/SIGTERM) ends the current step and closes everything.
 */
@Command(name = "mnist-neuron", mixinStandardHelpOptions = true,
        description = "Runs the MNIST neuron: trains on real MNIST with its peers as context, and serves its model.")
public final class MnistNeuronMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(MnistNeuronMain.class);

    @Mixin
    NeuronOptions neuron;

    @Spec
    CommandSpec spec;

    @Mixin
    MnistRunOptions run;

    @Option(names = "--topk", paramLabel = "K", defaultValue = "10",
            description = "Peers each example is routed to, at most. Default: ${DEFAULT-VALUE}")
    int topK;

    public static void main(String[] args) {
        MemoryBudget.applyDefaults(); // before anything loads ND4J
        NativeBackend.selectFastest();
        NativeBackend.filterNd4jStdoutNoise();
        System.exit(commandLine().execute(args));
    }

    /** One-line errors: bad flags exit 2; data, checkpoint, key and port problems exit 1. */
    static CommandLine commandLine() {
        return MnistRunOptions.commandLine(new MnistNeuronMain());
    }

    @Override
    public Integer call() throws IOException {
        MemoryBudget.current().log();
        if (topK < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--topk must be at least 1, got " + topK);
        }
        NeuronConfig config = neuron.toConfig();
        long s = run.seedOrRandom();
        MnistDataset data = run.limit(MnistData.load(config.datapath()));
        MnistNeuronTrainer.Settings settings = new MnistNeuronTrainer.Settings(s, run.logInterval, topK, 500);
        CountDownLatch done = new CountDownLatch(1);
        boolean metered = config.metricsPort().isPresent();
        try (NeuronMetrics metrics = NeuronMetrics.builder().build();
                NeuronSession session = NeuronSession.builder(config)
                        .callListener(metered ? metrics : CallListener.NONE).build();
                MnistNeuronTrainer mnist = new MnistNeuronTrainer(session, data, settings)) {
            if (metered) {
                mnist.setPhaseListener((phase, loss, accuracy) -> metrics.training(phase.name().toLowerCase(java.util.Locale.ROOT), loss, accuracy));
                mnist.setListener((epoch, step, result, answered, stats) -> metrics.steps(1));
            }
            Thread hook = new Thread(() -> {
                LOG.info("stopping (signal): finishing the current step");
                mnist.stop();
                try {
                    done.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                session.close();
            }, "mnist-neuron-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                session.start();
                if (metered) {
                    metrics.watch(session).serve(config.metricsPort().getAsInt());
                    LOG.info("metrics: http://{}:{}/metrics", config.remoteIp(), metrics.port());
                }
                LOG.info("to join this neuron: --bootstrap {}", session.metagraphAddress());
                mnist.run();
            } finally {
                session.close(); // peers stop calling the snapshot before the model closes
                done.countDown();
                removeQuietly(hook);
            }
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
