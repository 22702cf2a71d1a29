package io.bittensor.examples.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.bittensor.axon.Axon;
import io.bittensor.crypto.Keypair;
import io.bittensor.metagraph.DropReason;
import io.bittensor.metagraph.Metagraph;
import io.bittensor.metagraph.MetagraphConfig;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.neuron.UnsupportedModalityException;
import io.bittensor.transport.GrpcTransportLog;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.LoggerFactory;

/**
 * The CI-sized hostile campaign: 3 000 requests of every kind against a live Axon (a real
 * projection neuron on MNIST-shaped images) and Metagraph on loopback. Every request gets a
 * specific answer, every valid call in between is answered correctly, nothing planted is served
 * back, and the log gets a handful of summary lines and no stack trace.
 */
class HostileCampaignIT {
    private static final String SYNAPSE = "0x" + "5a".repeat(32);

    /** IMAGE [b, s, 1, 28, 28] → [b, s, 512]: a fixed linear projection of the 784 pixels. */
    private static final class Projection implements Neuron {
        private final INDArray w;

        Projection() {
            Nd4j.getRandom().setSeed(3);
            w = Nd4j.rand(DataType.FLOAT, 784, 512).subi(0.5).muli(0.1);
        }

        @Override
        public INDArray forwardImage(INDArray x) {
            long[] s = x.shape();
            return x.castTo(DataType.FLOAT).reshape(s[0] * s[1], 784).mmul(w).reshape(s[0], s[1], 512);
        }

        @Override
        public INDArray backward(Modality m, INDArray x, INDArray g) {
            if (m != Modality.IMAGE) {
                throw new UnsupportedModalityException(m);
            }
            long[] s = x.shape();
            return g.castTo(DataType.FLOAT).reshape(s[0] * s[1], 512).mmul(w.transpose()).reshape(s);
        }
    }

    private Axon axon;
    private Metagraph metagraph;
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final List<LogRecord> julWarnings = new CopyOnWriteArrayList<>();
    private final Handler jul = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
                julWarnings.add(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @AfterEach
    void close() {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logged);
        java.util.logging.Logger.getLogger("").removeHandler(jul);
        if (axon != null) {
            axon.close();
        }
        if (metagraph != null) {
            metagraph.close();
        }
    }

    @Test
    void everyHostileRequestGetsASpecificAnswerAndValidCallsStillWork() {
        axon = Axon.builder().bindAddress("127.0.0.1").port(0).shutdownGrace(Duration.ofSeconds(1))
                .maxInboundMessageBytes(1 << 20).serve(SYNAPSE, new Projection()).build().start();
        metagraph = new Metagraph(MetagraphConfig.builder().bindHost("127.0.0.1").port(0).build(),
                Keypair.generate()).startServer();
        metagraph.subscribe(SYNAPSE, "127.0.0.1", axon.port());
        logged.start();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(logged);
        java.util.logging.Logger.getLogger("").addHandler(jul);

        long start = System.nanoTime();
        CampaignReport r = HostileCampaign.builder().axon("127.0.0.1", axon.port())
                .metagraph("127.0.0.1", metagraph.port()).synapseKey(SYNAPSE)
                .validInput(Modality.IMAGE, 2, 1, 1, 28, 28).maxAxonMessageBytes(1 << 20)
                .requests(3000).seed(13).deadline(Duration.ofSeconds(20))
                .progress(n -> System.out.println("campaign: " + n + " sent")).build().run();
        double minutes = (System.nanoTime() - start) / 6e10;
        System.out.println(r.table());

        assertEquals(3000, r.sent());
        for (HostileKind k : HostileKind.values()) {
            assertTrue(r.sent(k) > 0, "no " + k + " sent");
        }
        assertEquals(0, r.unhandled(), r.table());
        assertEquals(java.util.Map.of(), r.unexpected(), r.table());
        assertEquals(r.validCalls(), r.validCallsCorrect(), r.table());
        assertTrue(r.validCalls() >= 60, "valid calls: " + r.validCalls());
        assertEquals(0, r.plantedServed(), r.table());
        // The flood was refused for the reasons it was built to trip.
        assertTrue(metagraph.dropped(DropReason.BAD_SIGNATURE) + metagraph.dropped(DropReason.ABSORB_BUSY) > 0);
        assertTrue(metagraph.dropped(DropReason.EXPIRED) + metagraph.dropped(DropReason.ABSORB_BUSY) > 0);
        assertTrue(metagraph.dropped(DropReason.LOW_PROOF_OF_WORK) + metagraph.dropped(DropReason.ABSORB_BUSY) > 0);
        assertEquals(1, metagraph.size(), "only our own synapse is held");

        // Logs a stranger cannot flood: no trace at all, and per kind one line per minute.
        for (ILoggingEvent e : logged.list) {
            assertEquals(null, e.getThrowableProxy(), e.getLoggerName() + ": " + e.getFormattedMessage());
        }
        assertEquals(List.of(), julWarnings.stream().map(LogRecord::getMessage).toList());
        // gRPC's own per-request warning for oversized messages is counted instead.
        assertTrue(GrpcTransportLog.counts().getOrDefault(GrpcTransportLog.KIND, 0L) > 0);
        long peerLines = logged.list.stream().filter(e -> e.getLoggerName().endsWith("PeerErrors")).count();
        int kinds = axon.peerErrors().size() + metagraph.peerErrors().size();
        assertTrue(peerLines <= kinds * (Math.ceil(minutes) + 1), peerLines + " peer-error lines for "
                + kinds + " kinds in " + minutes + " min");
        long warnOrWorse = logged.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).count();
        assertEquals(peerLines, warnOrWorse, "warnings other than peer-error summaries");
    }
}
