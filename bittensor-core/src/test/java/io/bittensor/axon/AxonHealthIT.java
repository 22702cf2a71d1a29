package io.bittensor.axon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The standard gRPC health service on the Axon's port, called as a load balancer would. */
class AxonHealthIT {
    private ManagedChannel channel;
    private Axon axon;

    @AfterEach
    void close() throws InterruptedException {
        if (axon != null) {
            axon.close();
        }
        if (channel != null) {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private HealthGrpc.HealthBlockingStub start() {
        axon = Axon.builder().bindAddress("127.0.0.1").port(0).shutdownGrace(Duration.ofSeconds(1))
                .build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", axon.port()).usePlaintext().build();
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static HealthCheckRequest ask(String service) {
        return HealthCheckRequest.newBuilder().setService(service).build();
    }

    @Test
    void servingOnceStartedForTheServerAndTheBittensorService() {
        HealthGrpc.HealthBlockingStub health = start();
        assertEquals(ServingStatus.SERVING, health.check(ask("")).getStatus());
        assertEquals(ServingStatus.SERVING, health.check(ask(Axon.SERVICE_NAME)).getStatus());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> health.check(ask("NoSuchService")));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    }

    @Test
    void aWatcherHearsNotServingWhenTheAxonCloses() throws InterruptedException {
        start();
        BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
        HealthGrpc.newStub(channel).watch(ask(""), new StreamObserver<>() {
            @Override
            public void onNext(HealthCheckResponse r) {
                seen.add(r.getStatus());
            }

            @Override
            public void onError(Throwable t) {
                seen.add(Status.fromThrowable(t).getCode());
            }

            @Override
            public void onCompleted() {
                seen.add("completed");
            }
        });
        assertEquals(ServingStatus.SERVING, seen.poll(10, TimeUnit.SECONDS));
        axon.close();
        assertEquals(ServingStatus.NOT_SERVING, seen.poll(10, TimeUnit.SECONDS));
        // The stream then ends with the server; nothing claims SERVING again.
        Object after = seen.poll(10, TimeUnit.SECONDS);
        assertTrue(after != ServingStatus.SERVING, "after close: " + after);
    }
}
