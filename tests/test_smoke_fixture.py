def test_fixture_runs_exist(pixel_run, classifier_run):
    assert (pixel_run / "model.keras").is_file()
    assert (classifier_run / "run.h5").is_file()
