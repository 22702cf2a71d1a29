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
import java.util.concurrent.TimeUnit;

/**
 * Netty event loops owned by one Axon, Dendrite or Metagraph (not gRPC's process-wide shared ones), so that
 * closing the owner ends its I/O threads deterministically. Native epoll when available
 * (Linux), NIO otherwise. Shared by the axon, dendrite and metagraph packages.
 */
public final class NettyTransport implements AutoCloseable {
    private static final boolean EPOLL = Epoll.isAvailable();

    private final EventLoopGroup group;

    /** @param threadName prefix of the I/O thread names */
    public NettyTransport(int threads, String threadName) {
        if (threads < 1) {
            throw new IllegalArgumentException("I/O threads must be >= 1, got " + threads);
        }
        DefaultThreadFactory tf = new DefaultThreadFactory(threadName, true);
        this.group = new MultiThreadIoEventLoopGroup(threads, tf,
                EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    }

    public EventLoopGroup group() {
        return group;
    }

    public static Class<? extends ServerChannel> serverChannelType() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public static Class<? extends Channel> channelType() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** Shuts the loops down and waits up to {@code timeout}; true if they ended. */
    public boolean close(Duration timeout) {
        group.shutdownGracefully(0, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return group.awaitTermination(timeout.toMillis() + 100, TimeUnit.MILLISECONDS);
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
