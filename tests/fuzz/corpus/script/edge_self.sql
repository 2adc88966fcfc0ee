-- m
-- Revision ID: self
-- Revises: self

-- migrate:upgrade
