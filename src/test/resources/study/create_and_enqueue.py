"""Creates a study (minimize) and enqueues list index 7, as a Python user would:
python3 create_and_enqueue.py STORAGE_URL STUDY_NAME."""
import sys

import optuna


def main():
    url, name = sys.argv[1], sys.argv[2]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize")
    study.enqueue_trial({"idx": 7})
    print("enqueued")


if __name__ == "__main__":
    main()
