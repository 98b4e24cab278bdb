package io.github.optlist.bench.jmh;

import org.bytedeco.javacpp.PointerScope;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One optimizer step, timed by JMH: every {@link Contestant} on every {@link Shape}, each pair in JVMs of its own,
 * with float32 parameters and the same gradients. {@link StepTables} runs it and prints the ratio tables of
 * {@code docs/benchmark.md}; {@code mvn -q -Pbench compile exec:exec@benchmark} runs that.
 *
 * <p>The forked JVMs inherit the environment of the JVM that runs JMH, and OpenMP reads its settings from the
 * environment at start-up: set {@code OMP_WAIT_POLICY=PASSIVE} there (the Maven command does), as bin/opt-list and
 * the tests do, or idle OpenMP threads spin and starve the JVM's own on a machine of few cores.
 *
 * <p>Three forks of 7 measured iterations each, rather than one longer fork: on a shared machine a neighbour's
 * burst of a few seconds then spoils the iterations of one fork, and the median over all 21 passes over them; and
 * times differ from one JVM to the next by more than within one (the kernel on the seed MLP ran at 50 µs a step in
 * one fork, 70 in another). Five warm-up iterations: after three, the first measured iteration of the seed MLP's
 * {@code step()} was still up to 1.6 times the later ones.
 *
 * <p>Each fork touches its whole heap at start-up ({@code -XX:+AlwaysPreTouch}), as a long training run's JVM has
 * within its first minutes: on the virtual machines this project runs on, a fresh JVM's first touch of a heap page
 * costs so much that a contestant allocating a few KB of Java objects a step would be timed on those page faults
 * ({@code docs/performance.md}, "The JVM's first touch").
 *
 * <p>Native temporaries of the steps (the presets' wrappers of returned tensors) are released at the end of each
 * iteration, by a {@link PointerScope} open while it runs, outside the timed calls.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 7, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
@State(Scope.Thread)
public class StepBenchmark {

    /**
     * The model; JMH runs every one unless told otherwise ({@code -p model=SEED_MLP}). JMH orders its runs by the
     * parameters' names: "model" before "step" keeps the contestants of one model together in time.
     */
    @Param
    public Shape model;

    /** The contestant; JMH runs every one unless told otherwise ({@code -p step=FUSED,ATEN_FUSED_KERNEL}). */
    @Param
    public Contestant step;

    private Contestant.Step running;
    private PointerScope iterationScope;

    /** Builds the contestant on fresh parameters, outside any scope: it lives for the whole trial. */
    @Setup(Level.Trial)
    public void start() {
        running = step.start(ModelTensors.of(model));
    }

    /** Opens the scope that collects the iteration's native temporaries. */
    @Setup(Level.Iteration)
    public void openScope() {
        iterationScope = new PointerScope();
    }

    /** Releases the iteration's native temporaries. */
    @TearDown(Level.Iteration)
    public void closeScope() {
        iterationScope.close();
    }

    /** Releases the contestant. */
    @TearDown(Level.Trial)
    public void stop() {
        running.close();
    }

    /** One step of the contestant. */
    @Benchmark
    public void step() {
        running.run();
    }
}
