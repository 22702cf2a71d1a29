package io.bittensor.dendrite;

import io.bittensor.transport.NettyTransport;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC channel per endpoint, reused across calls, at most {@code maxChannels} open: the least
 * recently used is shut down (gracefully: its calls in flight finish) to make room.
 */
final class ChannelPool implements AutoCloseable {
    private final NettyTransport transport;
    private final int maxChannels;
    private final int maxInboundMessageBytes;
    private final LinkedHashMap<String, ManagedChannel> channels = new LinkedHashMap<>(16, 0.75f, true);
    private long evictions;
    private boolean closed;

    ChannelPool(NettyTransport transport, int maxChannels, int maxInboundMessageBytes) {
        this.transport = transport;
        this.maxChannels = maxChannels;
        this.maxInboundMessageBytes = maxInboundMessageBytes;
    }

    /** The channel to {@code target} ("host:port"), opened if needed. */
    ManagedChannel get(String target) {
        ManagedChannel evicted = null;
        ManagedChannel ch;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("dendrite closed");
            }
            ch = channels.get(target);
            if (ch == null) {
                ch = NettyChannelBuilder.forTarget(target)
                        .usePlaintext()
                        .eventLoopGroup(transport.group())
                        .channelType(NettyTransport.channelType())
                        .directExecutor() // replies are decoded on the I/O thread; no hop
                        .offloadExecutor(transport.offloadExecutor()) // bounded, ours
                        .maxInboundMessageSize(maxInboundMessageBytes)
                        .build();
                channels.put(target, ch);
                if (channels.size() > maxChannels) {
                    Map.Entry<String, ManagedChannel> eldest = channels.entrySet().iterator().next();
                    channels.remove(eldest.getKey());
                    evicted = eldest.getValue();
                    evictions++;
                }
            }
        }
        if (evicted != null) {
            evicted.shutdown();
        }
        return ch;
    }

    synchronized int size() {
        return channels.size();
    }

    synchronized long evictions() {
        return evictions;
    }

    synchronized boolean isOpen(String target) {
        return channels.containsKey(target);
    }

    @Override
    public void close() {
        List<ManagedChannel> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(channels.values());
            channels.clear();
        }
        for (ManagedChannel ch : all) {
            ch.shutdownNow();
        }
        for (ManagedChannel ch : all) {
            try {
                ch.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
