#!/usr/bin/env bash
# Proves that opt-list works as a library dependency and brings only what a library needs:
#   1. installs this project into the local Maven repository (jar, sources jar, Javadoc jar);
#   2. creates a throwaway consumer project in a temporary folder that depends on the installed jar;
#   3. prints the consumer's resolved dependency tree, and fails if the command line's or the plot's
#      dependencies (picocli, XChart, progressbar, JLine) are in it, or if LibTorch, JavaCPP, OpenBLAS or
#      Jackson are missing;
#   4. runs a small main in the consumer that trains one step with TorchOptList.optimizerForIdx, checks the
#      jar carries LICENSE and NOTICE, and runs a one-trial Search.run without XChart on the class path.
#
# Usage: scripts/check-consumer.sh            (from anywhere; KEEP=1 keeps the temporary folder)
# Exit code 0 when every check passed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# LibTorch's OpenMP threads busy-wait by default and starve the JVM on machines with few cores (see README).
export OMP_WAIT_POLICY=PASSIVE

cd "$root"
version="$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' pom.xml | head -n 1)"
[ -n "$version" ] || { echo "check-consumer: cannot read the project version from pom.xml" >&2; exit 1; }

echo "== mvn -B -q install -DskipTests (opt-list $version)"
mvn -B -q -Dstyle.color=never install -DskipTests

repo_dir="$HOME/.m2/repository/io/github/optlist/opt-list/$version"
for jar in "opt-list-$version.jar" "opt-list-$version-sources.jar" "opt-list-$version-javadoc.jar"; do
  [ -f "$repo_dir/$jar" ] || { echo "check-consumer: FAIL: $jar was not installed in $repo_dir" >&2; exit 1; }
  echo "installed: $jar"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/opt-list-consumer.XXXXXX")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; else echo "keeping $work"; fi
mkdir -p "$work/src/main/java/consumer"

cat > "$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example.consumer</groupId>
  <artifactId>opt-list-consumer</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>io.github.optlist</groupId>
      <artifactId>opt-list</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-resources-plugin</artifactId>
        <version>3.3.1</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.14.0</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.9.0</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF

cat > "$work/src/main/java/consumer/ConsumerMain.java" <<'EOF'
package consumer;

import io.github.optlist.NAdamWConfig;
import io.github.optlist.OptList;
import io.github.optlist.search.Search;
import io.github.optlist.search.SearchListener;
import io.github.optlist.search.SearchResult;
import io.github.optlist.search.SearchSettings;
import io.github.optlist.torch.NAdamWCosineDecay;
import io.github.optlist.torch.TorchOptList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.mse_loss;
import static org.bytedeco.pytorch.global.torch.randn;

/** A library user's program: one training step with list entry 0, then a one-trial search. */
public final class ConsumerMain {

    /** Fails with an AssertionError unless every check passes; args[0] is an empty folder for the search. */
    public static void main(String[] args) throws Exception {
        for (String absent : new String[] {"picocli.CommandLine", "org.knowm.xchart.XYChart",
                "me.tongfei.progressbar.ProgressBar", "org.jline.terminal.Terminal"}) {
            if (isPresent(absent)) {
                throw new AssertionError(absent + " is on the consumer's class path");
            }
        }
        for (String entry : new String[] {"META-INF/LICENSE", "META-INF/NOTICE"}) {
            if (OptList.class.getClassLoader().getResource(entry) == null) {
                throw new AssertionError(entry + " is not in the jar");
            }
        }

        manual_seed(0);
        LinearImpl model = new LinearImpl(4, 1);
        Tensor before = model.weight().clone();
        try (NAdamWCosineDecay opt = TorchOptList.optimizerForIdx(model.parameters(), 0, 10);
             PointerScope scope = new PointerScope()) {
            opt.zeroGrad();
            Tensor loss = mse_loss(model.forward(randn(8, 4)), randn(8, 1));
            loss.backward();
            opt.step();
            double moved = model.weight().sub(before).abs().max().item_double();
            System.out.printf("one step with %s: loss %.6f, weights moved by up to %.3g, step count %d%n",
                    OptList.config(0).name(), loss.item_double(), moved, opt.stepCount());
            if (!(moved > 0) || opt.stepCount() != 1) {
                throw new AssertionError("the step did not update the parameters");
            }
        }

        NAdamWConfig adam = NAdamWConfig.builder("consumer-adam").learningRate(1e-2).build();
        System.out.println("built by name: " + adam);

        Path folder = Path.of(args[0]);   // an empty folder in the script's temporary one
        SearchResult result = Search.run(SearchSettings.of("consumer", 3, 1), context -> {
            LinearImpl m = new LinearImpl(2, 1);
            double last = Double.NaN;
            try (NAdamWCosineDecay opt = context.optimizer(m.parameters())) {
                for (long step = 0; step < context.trainingSteps(); step++) {
                    try (PointerScope scope = new PointerScope()) {
                        opt.zeroGrad();
                        Tensor loss = mse_loss(m.forward(randn(16, 2)), randn(16, 1));
                        loss.backward();
                        opt.step();
                        last = loss.item_double();
                        context.reportLoss(step, last);
                    }
                }
            }
            return last;
        }, folder, SearchListener.NONE);
        System.out.println("search without XChart: " + result.trials().get(0).status() + ", files " + result.files());
        if (!result.trials().get(0).ok() || Files.exists(folder.resolve("search.png"))
                || !Files.exists(folder.resolve("results.csv"))) {
            throw new AssertionError("the search should succeed and write results.csv without search.png");
        }
        System.out.println("consumer: OK");
    }

    private static boolean isPresent(String className) {
        try {
            Class.forName(className, false, ConsumerMain.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
EOF

cd "$work"
echo "== the consumer's resolved dependency tree"
mvn -B -q -Dstyle.color=never dependency:tree -DoutputFile="$work/tree.txt"
cat "$work/tree.txt"
if grep -Ei 'picocli|xchart|progressbar|jline' "$work/tree.txt"; then
  echo "check-consumer: FAIL: the consumer gets a command-line or plot dependency (above)" >&2
  exit 1
fi
for needed in 'org.bytedeco:pytorch:jar:' 'org.bytedeco:javacpp:jar:' 'org.bytedeco:openblas:jar:' \
    'com.fasterxml.jackson.core:jackson-databind:jar:' 'com.fasterxml.jackson.dataformat:jackson-dataformat-csv:jar:'; do
  grep -q "$needed" "$work/tree.txt" || { echo "check-consumer: FAIL: $needed is missing" >&2; exit 1; }
done
grep -Eq 'org.bytedeco:pytorch:jar:[a-z0-9_-]+:' "$work/tree.txt" \
  || { echo "check-consumer: FAIL: no LibTorch natives (pytorch with a platform classifier)" >&2; exit 1; }
echo "no picocli, xchart, progressbar or jline; LibTorch (with natives), JavaCPP, OpenBLAS and Jackson present"

echo "== compiling and running the consumer's main"
mvn -B -q -Dstyle.color=never compile dependency:build-classpath -Dmdep.outputFile="$work/classpath.txt" -Dmdep.includeScope=runtime
java -Djava.awt.headless=true -cp "$work/target/classes:$(cat "$work/classpath.txt")" consumer.ConsumerMain "$work/search"
echo "check-consumer: PASS"
