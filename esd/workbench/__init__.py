"""The service the Gradio UI drives (``service.Workbench``, the facade), one module per concern:
catalogue (models), run_folders, jobs and tasks (training / evaluation threads),
evaluation_setup, comparison, export, user_input (requests, limits) and presentation."""
