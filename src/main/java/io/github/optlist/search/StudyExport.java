package io.github.optlist.search;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.optlist.ListVariant;
import io.github.optlist.internal.Version;
import io.github.optlist.search.study.OptunaStudy;
import io.github.optlist.search.study.StorageUrl;
import io.github.optlist.search.study.StudyDatabase;
import io.github.optlist.search.study.StudyStorageException;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/** A study as the exports show it: the header its settings make, and its finished trials. */
record StudyExport(ResultsHeader header, List<TrialResult> trials) {

    /**
     * Reads {@code study}: its settings (which a search recorded) and every finished trial, the latest of a retried
     * candidate.
     *
     * @throws IllegalArgumentException if the study does not exist or holds no search's settings, or it is not named
     *                                  and its database holds other than one study (naming them)
     * @throws IOException              if the database is unreachable or fails
     */
    static StudyExport read(Study study) throws IOException {
        StorageUrl url = StorageUrl.parse(study.storage());
        if (url.isSqlite() && !java.nio.file.Files.exists(url.file())) {
            throw new IllegalArgumentException(url.file() + " does not exist: no study to export");
        }
        try (StudyDatabase database = StudyDatabase.open(url)) {
            String name = study.name();
            if (name == null) {
                List<String> names = OptunaStudy.names(database);
                if (names.size() != 1) {
                    throw new IllegalArgumentException(url + " holds " + names.size() + " studies " + names
                            + ": name the one to export");
                }
                name = names.get(0);
            }
            String chosen = name;
            OptunaStudy optuna = OptunaStudy.load(database, name).orElseThrow(() -> new IllegalArgumentException(
                    url + " holds no study '" + chosen + "'; it holds " + OptunaStudy.names(database)));
            ResultsHeader header = header(optuna.name(), optuna.userAttributes());
            return new StudyExport(header, StudyTrials.latest(optuna.trials(), header.variant(), Map.of()));
        } catch (StudyStorageException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The header of the search whose settings a study records ({@link StudyTrials#settingsAttributes}). */
    private static ResultsHeader header(String study, Map<String, JsonNode> a) {
        if (!a.containsKey("opt_list_format") || !a.containsKey("task")) {
            throw new IllegalArgumentException("study '" + study + "' holds no opt-list search's settings: run a"
                    + " search on it first");
        }
        // The attributes come from a database anyone may write: each is checked before it is used.
        for (String key : List.of("training_steps", "seed", "direction", "divergence_factor", "divergence_grace",
                "variant")) {
            if (a.get(key) == null || a.get(key).isNull()) {
                throw new IllegalArgumentException("study '" + study + "' lacks the search setting '" + key + "'");
            }
        }
        try {
            return new ResultsHeader(ResultsHeader.FORMAT, a.get("task").asText(), a.get("training_steps").asLong(),
                    a.get("seed").asLong(), Direction.valueOf(a.get("direction").asText()),
                    a.get("divergence_factor").asDouble(), a.get("divergence_grace").asLong(),
                    ListVariant.valueOf(a.get("variant").asText()), Shard.ALL.toString(), Version.get());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("study '" + study + "' holds search settings this code does not read"
                    + " (" + e.getMessage() + ")", e);
        }
    }
}
