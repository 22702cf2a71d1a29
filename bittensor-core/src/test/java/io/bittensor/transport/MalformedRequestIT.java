package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.axon.Axon;
import io.bittensor.crypto.Keypair;
import io.bittensor.metagraph.Metagraph;
import io.bittensor.metagraph.MetagraphConfig;
import io.bittensor.neuron.TestNeurons;
import io.bittensor.proto.GossipBatch;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.TensorCodec;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bytes that are not a message, sent to a live Axon and Metagraph: each gets INVALID_ARGUMENT
 * (never UNKNOWN), is counted as a peer error, and the server keeps answering valid calls.
 */
class MalformedRequestIT {
    private Axon axon;
    private Metagraph metagraph;
    private ManagedChannel axonChannel;
    private ManagedChannel gossipChannel;

    @AfterEach
    void close() throws InterruptedException {
        for (ManagedChannel c : new ManagedChannel[] {axonChannel, gossipChannel}) {
            if (c != null) {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        if (axon != null) {
            axon.close();
        }
        if (metagraph != null) {
            metagraph.close();
        }
    }

    /** Random bytes, a truncated valid message, an invalid wire type, a lying length prefix. */
    private static List<byte[]> malformed(byte[] valid) {
        Random r = new Random(42);
        byte[] random = new byte[512];
        r.nextBytes(random);
        random[0] = (byte) 0xFF; // field 31, wire type 7: never valid
        return List.of(random,
                Arrays.copyOf(valid, valid.length / 2),
                new byte[] {0x0F},                            // field 1, wire type 7
                new byte[] {0x0A, (byte) 0xFF, (byte) 0xFF, 0x7F, 'a'}, // field 1, length 2 MiB, 1 byte
                new byte[] {0x08, (byte) 0x80, (byte) 0x80});  // varint cut off
    }

    private static byte[] call(ManagedChannel ch, String method, byte[] body) {
        MethodDescriptor<byte[], byte[]> m = RawBytes.method(method);
        return ClientCalls.blockingUnaryCall(ch, m, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), body);
    }

    private static ManagedChannel channel(int port) {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    @Test
    void axonAnswersMalformedBytesWithInvalidArgumentAndKeepsServing() throws Exception {
        axon = Axon.builder().bindAddress("127.0.0.1").port(0).shutdownGrace(Duration.ofSeconds(1))
                .serve("k", new TestNeurons.Scale(2)).build().start();
        axonChannel = channel(axon.port());
        TensorMessage valid = TensorMessage.newBuilder().setSynapseKey("k")
                .addTensors(TensorCodec.defaults().encode(Nd4j.ones(DataType.FLOAT, 1, 1, 512), Modality.TENSOR))
                .build();
        int sent = 0;
        for (String method : List.of("Bittensor/Forward", "Bittensor/Backward")) {
            for (byte[] bad : malformed(valid.toByteArray())) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> call(axonChannel, method, bad));
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), method + ": " + e);
                sent++;
            }
            TensorMessage reply = TensorMessage.parseFrom(call(axonChannel, "Bittensor/Forward", valid.toByteArray()));
            assertEquals(ReturnCode.OK, reply.getReturnCode());
            assertEquals(2f, TensorCodec.defaults().decode(reply.getTensors(0)).getFloat(0, 0, 7));
        }
        assertEquals(sent, axon.peerErrors().get(MalformedRequestGuard.KIND));
    }

    @Test
    void axonRefusesOversizedHeaderFieldsWithoutEchoingThem() throws Exception {
        axon = Axon.builder().bindAddress("127.0.0.1").port(0).shutdownGrace(Duration.ofSeconds(1))
                .serve("k", new TestNeurons.Scale(2)).build().start();
        axonChannel = channel(axon.port());
        String huge = "k".repeat(1 << 20);
        TensorMessage reply = TensorMessage.parseFrom(call(axonChannel, "Bittensor/Forward",
                TensorMessage.newBuilder().setSynapseKey(huge).build().toByteArray()));
        assertEquals(ReturnCode.BAD_REQUEST, reply.getReturnCode());
        assertEquals("", reply.getSynapseKey());
        assertTrue(reply.getSerializedSize() < 1000, "reply of " + reply.getSerializedSize() + " bytes");
        assertEquals(1L, axon.peerErrors().get("Forward BAD_REQUEST"));
    }

    @Test
    void metagraphAnswersMalformedBytesWithInvalidArgumentAndKeepsGossiping() throws Exception {
        metagraph = new Metagraph(MetagraphConfig.builder().bindHost("127.0.0.1").port(0).build(),
                Keypair.generate()).startServer();
        metagraph.subscribe("0x" + "ab".repeat(32), "127.0.0.1", 9000);
        gossipChannel = channel(metagraph.port());
        GossipBatch valid = GossipBatch.newBuilder().addPeers("127.0.0.1:1").build();
        List<byte[]> bad = malformed(valid.toByteArray());
        for (byte[] b : bad) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> call(gossipChannel, "Metagraph/Gossip", b));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
        }
        GossipBatch reply = GossipBatch.parseFrom(call(gossipChannel, "Metagraph/Gossip", valid.toByteArray()));
        assertEquals(1, reply.getSynapsesCount());
        assertEquals((long) bad.size(), metagraph.peerErrors().get(MalformedRequestGuard.KIND));
    }
}
