package io.bittensor.transport;

import io.grpc.Status;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.slf4j.LoggerFactory;

/**
 * Routes the warnings gRPC's Netty server logs about a peer's message into a {@link PeerErrorLog}.
 *
 * <p>When a request is larger than the server's limit (or cannot be decompressed), grpc-java
 * answers {@code RESOURCE_EXHAUSTED} and logs "Exception processing message" with a stack trace
 * to java.util.logging, once per request: a stranger could fill the disk with oversized
 * requests. Those records are counted here instead, one summary line per minute, no trace.
 * Installed once per JVM by every Axon and Metagraph.
 */
public final class GrpcTransportLog {
    /** The JUL logger grpc-java's Netty server stream reports deframing failures on. */
    static final String DEFRAME_LOGGER = "io.grpc.netty.shaded.io.grpc.netty.NettyServerStream";
    public static final String KIND = "message refused by gRPC";

    // Strong references: JUL keeps only weak ones, and a collected logger loses its settings.
    private static final java.util.logging.Logger DEFRAME = java.util.logging.Logger.getLogger(DEFRAME_LOGGER);
    private static final PeerErrorLog ERRORS =
            new PeerErrorLog(LoggerFactory.getLogger("io.bittensor.transport.PeerErrors"));
    private static boolean installed;

    private GrpcTransportLog() {
    }

    /** Takes over gRPC's deframing warnings (idempotent). */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        DEFRAME.setUseParentHandlers(false);
        DEFRAME.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                String detail = r.getThrown() != null ? Status.fromThrowable(r.getThrown()).toString() : r.getMessage();
                ERRORS.record(KIND, detail);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        installed = true;
    }

    /** Messages gRPC refused so far in this JVM (all servers), by kind. */
    public static Map<String, Long> counts() {
        return ERRORS.counts();
    }
}
