"""The service the Gradio UI drives: jobs, models, comparison, export, user input, presentation."""
