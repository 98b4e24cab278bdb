"""Runs one waiting trial of a study with an objective that suggests the list index, reports a loss curve and
returns the index: python3 run_one_trial.py STORAGE_URL STUDY_NAME. Prints the index it ran."""
import sys

import optuna


def main():
    url, name = sys.argv[1], sys.argv[2]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
    study = optuna.load_study(study_name=name, storage=storage)
    ran = []

    def objective(trial):
        idx = trial.suggest_int("idx", 0, 999)
        trial.report(2.0 * idx, 0)
        trial.report(1.0 * idx, 1)
        ran.append(idx)
        return 0.5 * idx

    study.optimize(objective, n_trials=1)
    print("ran", ran[0])


if __name__ == "__main__":
    main()
