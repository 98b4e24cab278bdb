package io.github.optlist;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The front door holds: {@code scripts/check-docs.sh} passes (README.md at most 300 lines, every relative link of
 * README.md and docs/ pointing at a file and heading that exist, no documented command needing the test class path).
 */
class DocsTest {

    @Test
    void theReadmeAndTheDocsPagesPassTheirCheck() throws Exception {
        Path bash = Path.of("/bin/bash");
        assumeTrue(Files.isExecutable(bash), "no /bin/bash to run scripts/check-docs.sh with");
        ChildProcess check = ChildProcess.run(List.of(bash.toString(), "scripts/check-docs.sh"));
        assertEquals(0, check.exitCode(), check.output());
    }
}
