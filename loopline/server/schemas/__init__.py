"""The API's request and response bodies (pydantic), one module per resource, kept apart from the
stores' records; a body that copies a record is read from it (`Model.model_validate(record)`)."""
