package io.github.optlist.search.study;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.LocalDateTime;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One trial of a study as the database holds it, for the exports.
 *
 * @param trialId            the database's id of the trial
 * @param number             its number within the study
 * @param state              its state
 * @param index              the list index it runs ({@code fixed_params}' or its parameter {@code idx}), or -1
 * @param label              the label of the candidate it runs ({@code fixed_params}' {@code candidate}), or null
 * @param value              its objective, or null when it has none (WAITING, RUNNING, FAIL, PRUNED without one)
 * @param start              when it started running (UTC), or null while WAITING
 * @param complete           when it finished (UTC), or null
 * @param intermediateValues its loss curve: step to loss, NaN and infinities as reported
 * @param params             its parameters, name to Optuna's internal value ({@code idx} to the index)
 * @param userAttributes     its user attributes, key to JSON
 * @param systemAttributes   its system attributes (Optuna's: {@code fixed_params}, {@code failed_trial},
 *                           {@code retry_history}), key to JSON
 */
public record StoredTrial(int trialId, int number, TrialState state, int index, String label, Double value,
                          LocalDateTime start, LocalDateTime complete, SortedMap<Integer, Double> intermediateValues,
                          Map<String, Double> params, Map<String, JsonNode> userAttributes,
                          Map<String, JsonNode> systemAttributes) {

    /** Keeps unmodifiable copies of the maps. */
    public StoredTrial {
        intermediateValues = Collections.unmodifiableSortedMap(new TreeMap<>(intermediateValues));
        params = Map.copyOf(params);
        userAttributes = Map.copyOf(userAttributes);
        systemAttributes = Map.copyOf(systemAttributes);
    }
}
