"""What a run leaves behind: run and compare folders, plots, the HTML report, and their verification."""
