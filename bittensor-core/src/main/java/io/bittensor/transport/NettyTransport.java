package io.bittensor.transport;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Netty event loops owned by one Axon, Dendrite or Metagraph (not gRPC's process-wide shared ones), so that
 * closing the owner ends its I/O threads deterministically. Native epoll when available
 * (Linux), NIO otherwise. Shared by the axon, dendrite and metagraph packages.
 *
 * <p>Also owns the channels' offload executor: without one, gRPC resolves every new channel's
 * target on its process-wide cached pool, which grows a thread per concurrent resolution (a
 * Dendrite opening hundreds of channels grew it with the number of peers).
 */
public final class NettyTransport implements AutoCloseable {
    private static final boolean EPOLL = Epoll.isAvailable();

    /** Name resolutions are short; two threads and a bounded queue are plenty. */
    private static final int OFFLOAD_THREADS = 2;
    private static final int OFFLOAD_QUEUE = 4096;

    private final EventLoopGroup group;
    private final ThreadPoolExecutor offload;

    /** @param threadName prefix of the I/O thread names */
    public NettyTransport(int threads, String threadName) {
        if (threads < 1) {
            throw new IllegalArgumentException("I/O threads must be >= 1, got " + threads);
        }
        DefaultThreadFactory tf = new DefaultThreadFactory(threadName, true);
        this.group = new MultiThreadIoEventLoopGroup(threads, tf,
                EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        // A full queue runs the task on the caller: back-pressure, never an unbounded backlog.
        this.offload = new ThreadPoolExecutor(OFFLOAD_THREADS, OFFLOAD_THREADS, 10, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(OFFLOAD_QUEUE), new DefaultThreadFactory(threadName + "-offload", true),
                new ThreadPoolExecutor.CallerRunsPolicy());
        offload.allowCoreThreadTimeOut(true);
    }

    public EventLoopGroup group() {
        return group;
    }

    /** For {@code ManagedChannelBuilder.offloadExecutor}: blocking work such as name resolution. */
    public ExecutorService offloadExecutor() {
        return offload;
    }

    public static Class<? extends ServerChannel> serverChannelType() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public static Class<? extends Channel> channelType() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** Shuts the loops down and waits up to {@code timeout}; true if they ended. */
    public boolean close(Duration timeout) {
        offload.shutdown();
        group.shutdownGracefully(0, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return group.awaitTermination(timeout.toMillis() + 100, TimeUnit.MILLISECONDS)
                    & offload.awaitTermination(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
