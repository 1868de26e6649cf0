"""Pydantic models shared by the api, service and storage layers."""
