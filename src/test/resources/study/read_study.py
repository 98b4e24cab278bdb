"""Prints a study as Optuna reads it, as JSON: python3 read_study.py STORAGE_URL STUDY_NAME."""
import json
import math
import sys

import optuna


def number(value):
    # JSON has no NaN or infinities: write them as strings.
    if value is None or math.isfinite(value):
        return value
    return repr(value)


def main():
    url, name = sys.argv[1], sys.argv[2]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
    study = optuna.load_study(study_name=name, storage=storage)
    trials = []
    for trial in study.get_trials(deepcopy=False):
        trials.append({
            "number": trial.number,
            "state": trial.state.name,
            "params": trial.params,
            "distributions": {k: optuna.distributions.distribution_to_json(d)
                              for k, d in trial.distributions.items()},
            "value": number(trial.value),
            "intermediate_values": {str(k): number(v) for k, v in trial.intermediate_values.items()},
            "user_attrs": trial.user_attrs,
            "system_attrs": trial.system_attrs,
            "started": trial.datetime_start is not None,
            "completed": trial.datetime_complete is not None,
        })
    print(json.dumps({
        "direction": study.direction.name,
        "user_attrs": study.user_attrs,
        "trials": trials,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
