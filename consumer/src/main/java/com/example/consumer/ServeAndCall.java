package com.example.consumer;

import io.bittensor.axon.Axon;
import io.bittensor.crypto.Keypair;
import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.time.Duration;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Serves a {@link Doubler} on a loopback Axon and calls it through a Dendrite. */
public final class ServeAndCall {
    private ServeAndCall() {
    }

    /** The Forward outcome and output for {@code x} ([batch, seq, 512]). */
    public record Outcome(ReturnCode code, INDArray output) {}

    public static Outcome run(INDArray x) {
        Keypair key = Keypair.generate();
        String synapseKey = key.synapseKey("doubler");
        try (Axon axon = Axon.builder().bindAddress("127.0.0.1").port(0).keypair(key)
                     .serve(synapseKey, new Doubler()).build().start();
             Dendrite dendrite = Dendrite.builder().timeout(Duration.ofSeconds(20)).build()) {
            Synapse synapse = Synapse.newBuilder().setNeuronKey(key.publicKeyHex())
                    .setSynapseKey(synapseKey).setAddress("127.0.0.1")
                    .setPort(Integer.toString(axon.port())).build();
            DendriteCall call = dendrite.forward(List.of(synapse), List.of(x), Modality.TENSOR);
            return new Outcome(call.results().get(0).code(), call.outputs().get(0));
        }
    }

    public static void main(String[] args) {
        Outcome o = run(Nd4j.ones(DataType.FLOAT, 2, 1, 512));
        System.out.println(o.code() + " " + o.output().sumNumber());
    }
}
